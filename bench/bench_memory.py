"""Peak memory for 1x and 10x the input: it must stay flat as the input grows.

    python bench/bench_memory.py [--data DIR] [--copies 10] [-- extra Beam flags]

Runs the refinedweb preset (all stages, dedup included) on DIR's WARC files, then on
``--copies`` copies of them (hard links, renamed), and reports the peak RSS of the
largest process (the runner in-process, or the largest worker) from getrusage, with the
wall time. Copies are exact duplicates, so exact_dedup removes them: the point is the
memory of reading, extracting and filtering 10x the bytes.
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


def run(pattern: str, out: str, extra: list[str]) -> tuple[float, float, dict]:
    code = ("import resource, subprocess, sys, json;"
            "p = subprocess.run(sys.argv[1:]);"
            "print(json.dumps({'rc': p.returncode, 'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "webrefine", "run", "--input", pattern,
           "--output", out, "--no-progress", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0, 3):
        raise SystemExit(proc.stderr[-3000:])
    with open(os.path.join(out, "stats.json")) as fh:
        stats = json.load(fh)
    return result["rss_mb"], elapsed, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "cc-sample"))
    ap.add_argument("--copies", type=int, default=10)
    args, extra = ap.parse_known_args()
    extra = [e for e in extra if e != "--"]
    files = sorted(glob.glob(os.path.join(args.data, "*.warc.gz")))
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big")
        os.makedirs(big)
        for c in range(args.copies):
            for f in files:
                os.link(f, os.path.join(big, f"c{c:02d}-{os.path.basename(f)}")) if os.stat(f).st_dev == os.stat(tmp).st_dev \
                    else os.symlink(os.path.abspath(f), os.path.join(big, f"c{c:02d}-{os.path.basename(f)}"))
        rows = []
        for label, pattern in (("1x", os.path.join(args.data, "*.warc.gz")), (f"{args.copies}x", os.path.join(big, "*.warc.gz"))):
            rss, secs, stats = run(pattern, os.path.join(tmp, "out-" + label), extra)
            rows.append((label, stats["input"]["responses"], secs, rss, stats["output"]["documents"]))
    print(f"{'input':6s} {'responses':>9s} {'seconds':>8s} {'peak RSS MB':>12s} {'documents':>9s}")
    for label, resp, secs, rss, docs in rows:
        print(f"{label:6s} {resp:9d} {secs:8.1f} {rss:12.0f} {docs:9d}")
    print(f"RSS ratio {rows[1][0]}/{rows[0][0]}: {rows[1][3] / rows[0][3]:.2f}")


if __name__ == "__main__":
    main()
