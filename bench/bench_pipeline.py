"""Throughput of the Beam pipeline vs. the same stage functions in a plain Python loop.

    python bench/bench_pipeline.py [--data DIR] [--rounds 3] [--workers 1 2] [--python VENV/bin/python]

Runs the refinedweb filter stages without dedup (url_filter → extract → language →
gopher_repetition → gopher_quality → line_corrections) on every *.warc.gz in DIR (default:
../shared/data/cc-sample), alternating the plain loop and the pipeline, and prints medians:
records/s, MB/s of WARC input, peak RSS, and the ratio pipeline / loop. Run it on an
otherwise idle machine: a busy core halves the numbers.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One extraction helper in both: the same stage functions on one core (the default, auto,
# would give the in-process pipeline one helper per core).
STAGES = ["url_filter", {"extract": {"processes": 1}}, "language", "gopher_repetition", "gopher_quality",
          "line_corrections"]


def plain_loop(paths: list[str]) -> dict:
    """The floor: read every file and apply each stage in turn, no Beam."""
    from webrefine.filters.stage import apply_stage
    from webrefine.pipeline.config import ReadConfig, parse_config
    from webrefine.pipeline.stats.tally import Tally
    from webrefine.pipeline.io.warc import read_warc

    stages = parse_config({"stages": STAGES}).stages
    for s in stages:
        s.setup()
    tally, kept, start = Tally(), 0, time.perf_counter()
    for path in paths:
        for doc in read_warc(lambda: open(path, "rb"), path, ReadConfig(), tally):
            for stage in stages:
                doc, _ = apply_stage(stage, doc)
                if doc is None:
                    break
            else:
                kept += 1
    elapsed = time.perf_counter() - start
    for s in stages:
        s.teardown()
    return {"seconds": elapsed, "records": tally.counts["input.records"],
            "responses": tally.counts["input.responses"], "kept": kept}


def pipeline_run(paths: list[str], workers: int, data_dir: str, python: str) -> dict:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "bench.yaml")
        with open(cfg, "w") as fh:
            yaml.safe_dump({"name": "bench", "stages": STAGES}, fh)
        cmd = [python, "-m", "webrefine", "run", "--input", os.path.join(data_dir, "*.warc.gz"),
               "--output", os.path.join(tmp, "out"), "--config", cfg, "--no-progress"]
        if workers > 1:
            cmd += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 3):
            raise SystemExit(f"pipeline failed:\n{proc.stderr[-3000:]}")
        with open(os.path.join(tmp, "out", "stats.json")) as fh:
            stats = json.load(fh)
    return {"seconds": elapsed, "records": stats["input"]["records"], "responses": stats["input"]["responses"],
            "kept": stats["output"]["documents"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cc-sample"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1])
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter for the pipeline runs, e.g. a venv with only `pip install .` (the "
                         "Quickstart's install): with the gcp extra, importing Beam takes ~0.6 s longer")
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.data, "*.warc.gz")))
    mb = sum(os.path.getsize(p) for p in paths) / 1e6
    results: dict[str, list[dict]] = {"loop": []}
    for w in args.workers:
        results[f"beam-{w}w"] = []
    for r in range(args.rounds):
        results["loop"].append(plain_loop(paths))
        for w in args.workers:
            results[f"beam-{w}w"].append(pipeline_run(paths, w, args.data, args.python))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f}s" for k, v in results.items()), flush=True)
    loop_s = statistics.median(x["seconds"] for x in results["loop"])
    print(f"\n{len(paths)} files, {mb:.1f} MB, {results['loop'][0]['records']} records, "
          f"{results['loop'][0]['responses']} responses; medians of {args.rounds} rounds")
    print(f"{'run':10s} {'seconds':>8s} {'records/s':>10s} {'responses/s':>12s} {'MB/s':>6s} {'kept':>5s} {'vs loop':>8s}")
    for name, runs in results.items():
        s = statistics.median(x["seconds"] for x in runs)
        rec, resp = runs[0]["records"], runs[0]["responses"]
        print(f"{name:10s} {s:8.2f} {rec / s:10.1f} {resp / s:12.1f} {mb / s:6.2f} {runs[0]['kept']:5d} {s / loop_s:8.2f}")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: loop process {self_rss:.0f} MB; largest pipeline process {child_rss:.0f} MB")


if __name__ == "__main__":
    main()
