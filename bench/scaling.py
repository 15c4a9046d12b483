"""Local scaling: records/s with 1..N DirectRunner workers (multi_processing) on the same input.

    python bench/scaling.py --data DIR --workers 1 2 [--replicas K]

DIR's *.warc.gz files are linked ``--replicas`` times (renamed) into a temp dir so every
worker has files to read; the stages are the refinedweb filters without dedup (copies are
exact duplicates, which dedup would remove, and dedup's shuffle is not what is measured).
Prints wall time, responses/s and parallel efficiency = rate / (cores × rate of the first
run), where cores = workers × extract processes: list 1 worker and 1 process first.
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


def run(pattern: str, workers: int, tmp: str, processes: int = 1) -> tuple[float, dict]:
    cfg = os.path.join(tmp, "scaling.yaml")
    stages = [{"extract": {"processes": processes}} if s == "extract" else s for s in STAGES]
    with open(cfg, "w") as fh:
        json.dump({"name": "scaling", "stages": stages}, fh)  # JSON is YAML
    out = os.path.join(tmp, f"out-{workers}-{processes}")
    cmd = [sys.executable, "-m", "webrefine", "run", "--input", pattern, "--output", out, "--config", cfg,
           "--no-progress"]
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
    ap.add_argument("--processes", type=int, nargs="+", default=[1],
                    help="extract.processes (helper processes per worker) to try with each worker count")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "*.warc.gz")))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        for r in range(args.replicas):
            for f in files:
                os.symlink(os.path.abspath(f), os.path.join(data, f"r{r:03d}-{os.path.basename(f)}"))
        pattern = os.path.join(data, "*.warc.gz")
        base = 0.0
        print(f"{len(files) * args.replicas} files, cores: {os.cpu_count()}", flush=True)
        print(f"{'workers':>7s} {'extract procs':>13s} {'seconds':>8s} {'responses/s':>12s} "
              f"{'efficiency':>10s}", flush=True)
        for w in args.workers:
            for procs in args.processes:
                secs, stats = run(pattern, w, tmp, procs)
                rate = stats["input"]["responses"] / secs
                cores = w * procs
                base = base or rate / cores  # the first run is the 1-core reference
                print(f"{w:7d} {procs:13d} {secs:8.1f} {rate:12.1f} {rate / (cores * base):10.2f}", flush=True)


if __name__ == "__main__":
    main()
