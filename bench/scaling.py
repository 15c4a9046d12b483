"""Local scaling: records/s with 1..N DirectRunner workers (multi_processing) on the same input.

    python bench/scaling.py --data DIR --workers 1 2 [--replicas K] [--fanout files pages]

DIR's *.warc.gz files are linked ``--replicas`` times (renamed) into a temp dir so every
worker has files to read; the stages are the refinedweb filters without dedup (copies are
exact duplicates, which dedup would remove, and dedup's shuffle is not what is measured).
Prints wall time, responses/s and parallel efficiency = rate(N) / (N × rate(1)).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ["url_filter", "extract", "language", "gopher_repetition", "gopher_quality", "line_corrections"]


def run(pattern: str, workers: int, fanout: str, tmp: str) -> tuple[float, dict]:
    cfg = os.path.join(tmp, "scaling.yaml")
    with open(cfg, "w") as fh:
        json.dump({"name": "scaling", "stages": STAGES}, fh)  # JSON is YAML
    out = os.path.join(tmp, f"out-{workers}-{fanout}")
    cmd = [sys.executable, "-m", "pipeline", "run", "--input", pattern, "--output", out, "--config", cfg,
           "--no-progress", "--fanout", fanout]
    if workers > 1:
        cmd += ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise SystemExit(proc.stderr[-4000:])
    with open(os.path.join(out, "stats.json")) as fh:
        return elapsed, json.load(fh)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cc-sample"))
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--fanout", nargs="+", default=["files"])
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "*.warc.gz")))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        for r in range(args.replicas):
            for f in files:
                os.symlink(os.path.abspath(f), os.path.join(data, f"r{r:03d}-{os.path.basename(f)}"))
        pattern = os.path.join(data, "*.warc.gz")
        base: dict[str, float] = {}
        print(f"{len(files) * args.replicas} files, cores: {os.cpu_count()}", flush=True)
        print(f"{'fanout':7s} {'workers':>7s} {'seconds':>8s} {'responses/s':>12s} {'efficiency':>10s}", flush=True)
        for fanout in args.fanout:
            for w in args.workers:
                secs, stats = run(pattern, w, fanout, tmp)
                rate = stats["input"]["responses"] / secs
                base.setdefault(fanout, rate / w)
                print(f"{fanout:7s} {w:7d} {secs:8.1f} {rate:12.1f} {rate / (w * base[fanout]):10.2f}", flush=True)


if __name__ == "__main__":
    main()
