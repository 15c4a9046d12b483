"""The floor of a run: the CPU each page costs in each step, measured one step at a time in
one process, against a real run of the pipeline on the same files.

    python bench/bench_floor.py [--data DIR] [--cores 2] [--no-run]

Per page (CPU seconds of this process, ``time.process_time``): reading and decoding the WARC
record, extraction (the engine's call alone, with the stage's options and speed-up), the
extract stage's post-formatting, language ID, and each text filter on the documents that
reach it (handed on from extraction in groups, as a run hands them on: the stage after extraction
prepares for each group first, pipeline/document_phase.py); then the helper round trip (pickling a page to a helper process and its text back,
measured as this process's CPU around ``HelperPool.run_many`` minus nothing: the helper's own
CPU is the extraction), and the start-up (importing Beam and webrefine in a fresh
interpreter). The floor on N cores is start-up + (sum of the per-page costs) / N: what a run
would take if every core did only unavoidable work from the first page to the last. With
``--no-run`` that is all; otherwise the pipeline is run once (the peer.sh stage set, default
local run: one Beam worker, one extraction helper per core) and its wall time, its CPU (all
processes) and the share of that CPU outside extraction are printed beside the floor. On a
machine shared with other work, the wall time and the cores' busy share say little; the CPU
seconds still hold.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ["url_filter", "extract", "language", "gopher_repetition", "gopher_quality"]  # bench/peer.sh's


def cpu() -> float:
    return time.process_time()


def per_page_costs(paths: list[str]) -> tuple[dict[str, float], int]:
    from webrefine.filters.extract import Extract
    from webrefine.pipeline.document_phase import HAND_ON
    from webrefine.filters.stage import apply_stage
    from webrefine.pipeline.config import ReadConfig, parse_config
    from webrefine.pipeline.io.warc import read_warc
    from webrefine.pipeline.stats.tally import Tally

    stages = parse_config({"stages": STAGES}).stages
    for s in stages:
        if not isinstance(s, Extract):
            s.setup()
    extract = next(s for s in stages if isinstance(s, Extract))
    engine = extract.make_engine()
    engine.load()
    costs: dict[str, float] = {"read": 0.0, "extract (engine)": 0.0, "extract (post-format)": 0.0}
    costs.update({s.name: 0.0 for s in stages if not isinstance(s, Extract)})
    pages, tally = 0, Tally()
    after = stages.index(extract) + 1  # the stages after extraction get the extracted documents
    group: list = []  # in groups, as pipeline/document_phase.py hands them on (Stage.prepare)

    def hand_on() -> None:
        if group and after < len(stages):
            start = cpu()
            stages[after].prepare(group)
            costs[stages[after].name] += cpu() - start
        for doc in group:
            for stage in stages[after:]:
                start = cpu()
                doc, _ = apply_stage(stage, doc)
                costs[stage.name] += cpu() - start
                if doc is None:
                    break
        group.clear()

    for path in paths:
        docs = read_warc(lambda: open(path, "rb"), path, ReadConfig(), tally)
        while True:
            start = cpu()
            doc = next(docs, None)
            costs["read"] += cpu() - start
            if doc is None:
                break
            pages += 1
            for stage in stages[:after]:
                start = cpu()
                if isinstance(stage, Extract):
                    html = (doc.html or "")[: stage.max_html_chars]
                    text = engine.extract(html) if html.strip() else None
                    mid = cpu()
                    costs["extract (engine)"] += mid - start
                    verdict = stage._verdict(doc, ("ok", text) if html.strip() else ("empty", None))
                    doc = verdict.doc if verdict.keep else None
                    costs["extract (post-format)"] += cpu() - mid
                else:
                    doc, _ = apply_stage(stage, doc)
                    costs[stage.name] += cpu() - start
                if doc is None:
                    break
            if doc is not None:
                group.append(doc)
                if len(group) >= HAND_ON:
                    hand_on()
        hand_on()
    return costs, pages


def round_trip(paths: list[str], n: int = 200) -> float:
    """This process's CPU per page to ship pages to one helper and read the texts back."""
    from webrefine.filters.extract import Extract
    from webrefine.filters.extract.pool import HelperPool
    from webrefine.pipeline.config import ReadConfig
    from webrefine.pipeline.io.warc import read_warc
    from webrefine.pipeline.stats.tally import Tally

    pages = [d.html for p in paths for d in read_warc(lambda: open(p, "rb"), p, ReadConfig(), Tally()) if d.html]
    pages = pages[:n]
    pool = HelperPool(Extract().make_engine(), 1)
    try:
        pool.run_many(pages[:2], 10.0)  # started and warm
        start = cpu()
        pool.run_many(pages, 10.0)
        return (cpu() - start) / len(pages)
    finally:
        pool.stop()


def startup() -> float:
    """Wall seconds of a fresh interpreter importing Beam and the pipeline (median of 3)."""
    code = "import apache_beam, webrefine.pipeline.beam.graph, webrefine.pipeline.cli"
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


def run_pipeline(data: str) -> tuple[float, float, dict]:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "floor.yaml")
        with open(cfg, "w") as fh:
            yaml.safe_dump({"name": "floor", "stages": STAGES}, fh)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "webrefine", "run", "--input", os.path.join(data, "*.warc.gz"),
                               "--output", os.path.join(tmp, "out"), "--config", cfg, "--no-progress"],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode not in (0, 3):
            raise SystemExit(f"pipeline failed:\n{proc.stderr[-3000:]}")
        with open(os.path.join(tmp, "out", "stats.json")) as fh:
            stats = json.load(fh)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, used, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cc-sample"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-run", action="store_true")
    args = ap.parse_args()
    paths = sorted(glob.glob(os.path.join(args.data, "*.warc.gz")))
    costs, pages = per_page_costs(paths)
    costs["helper round trip (worker side)"] = round_trip(paths) * pages
    start_s = startup()
    total = sum(costs.values())
    print(f"{pages} pages (the HTML responses the reader yields) from {len(paths)} files; CPU per page, one step at a time:")
    for name, seconds in costs.items():
        print(f"  {name:34s} {seconds / pages * 1000:7.2f} ms  {seconds / total:6.1%}")
    print(f"  {'sum':34s} {total / pages * 1000:7.2f} ms  ({total:.1f} CPU-s)")
    floor = start_s + total / args.cores
    print(f"start-up (import Beam and the pipeline): {start_s:.2f} s")
    print(f"floor on {args.cores} cores: {start_s:.2f} + {total:.1f} / {args.cores} = {floor:.2f} s")
    if args.no_run:
        return
    wall, used, stats = run_pipeline(args.data)
    # the helpers' CPU is not in stats.json (its extract timing is the worker's wait), so the
    # run's extraction CPU is taken as the engine's cost measured above
    engine = costs["extract (engine)"]
    print(f"the run (default local run: one Beam worker, {args.cores} extraction helpers): {wall:.2f} s wall, "
          f"{used:.1f} CPU-s (all processes), {wall / floor:.2f}x the floor")
    print(f"  outside extraction (the run's CPU less {engine:.1f} CPU-s of extraction): "
          f"{used - engine:.1f} CPU-s = {(used - engine) / used:.1%}; per-response steps above "
          f"{total - engine:.1f}, the rest ({used - engine - (total - engine):.1f}) is start-up, Beam and writing")
    print(f"  cores busy: {used / (args.cores * wall):.1%} of {args.cores} cores over the whole command")

if __name__ == "__main__":
    main()
