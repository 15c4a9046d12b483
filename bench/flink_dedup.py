"""The `dedup` preset at scale on the local Flink cluster and on the DirectRunner, same cores.

    python scripts/local_flink.py prepare && python scripts/local_flink.py start --slots 2 --worker-pool
    python bench/flink_dedup.py --docs 30000 100000 300000 [--runners flink direct] [--rss-cap-gb 18]

For each size it generates the synthetic corpus of bench/synth_corpus.py (every duplicate known),
runs ``webrefine run --config dedup`` on each runner, and reports the wall time, the peak RSS of
the largest process and of all the run's processes together (sampled from /proc every 0.5 s),
and whether each group of planted duplicates kept exactly one document.

"All processes": for the DirectRunner, the command and its children; for Flink, the command
(and the job server it starts), the JobManager and TaskManager JVMs and the worker pool with its
Python SDK workers. A run whose processes together pass ``--rss-cap-gb`` is stopped and reported
as such (the machine would otherwise start swapping or kill something else).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from synth_corpus import generate, score  # noqa: E402

FLINK = os.path.join(ROOT, "scripts", "local_flink.py")


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def tree(roots: list[int], kids: dict[int, list[int]]) -> set[int]:
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += kids.get(pid, [])
    return seen


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def flink_roots() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "org.apache.flink.runtime"], capture_output=True, text=True).stdout
    roots = [int(x) for x in out.split()]
    pool = json.loads(subprocess.run([sys.executable, FLINK, "paths"], capture_output=True, text=True).stdout)
    if os.path.exists(pool["worker_pool_pid"]):
        roots.append(int(open(pool["worker_pool_pid"]).read()))
    return roots


def cancel_running_jobs() -> None:
    with urllib.request.urlopen("http://localhost:8081/jobs/overview", timeout=10) as resp:
        jobs = json.load(resp)["jobs"]
    for job in jobs:
        if job["state"] == "RUNNING":
            req = urllib.request.Request(f"http://localhost:8081/jobs/{job['jid']}?mode=cancel", method="PATCH")
            urllib.request.urlopen(req, timeout=10).close()


class Sampler(threading.Thread):
    def __init__(self, root: int, extra_roots: list[int], cap_mb: float, on_cap) -> None:
        super().__init__(daemon=True)
        self.root, self.extra, self.cap_mb, self.on_cap = root, extra_roots, cap_mb, on_cap
        self.peak_total = self.peak_one = 0.0
        self.capped = False
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = tree([self.root, *self.extra], children_map())
            sizes = [rss_mb(p) for p in pids]
            total = sum(sizes)
            self.peak_total = max(self.peak_total, total)
            self.peak_one = max(self.peak_one, max(sizes, default=0.0))
            if total > self.cap_mb and not self.capped:
                self.capped = True
                self.on_cap()
            self.stop.wait(0.5)


def run_once(runner: str, corpus: str, out: str, flink_python: str, cap_gb: float) -> dict:
    if runner == "flink":
        flags = subprocess.run([sys.executable, FLINK, "flags", "--parallelism", "2"], capture_output=True,
                               text=True, check=True).stdout.split()
        exe, extra_roots = os.path.join(os.path.dirname(flink_python), "webrefine"), flink_roots()
    else:
        flags, exe, extra_roots = [], os.path.join(os.path.dirname(sys.executable), "webrefine"), []
    cmd = [exe, "run", "--config", "dedup", "--input", corpus, "--output", out, "--no-progress", *flags]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    def stop() -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        if runner == "flink":  # the cluster would go on with the job
            cancel_running_jobs()

    sampler = Sampler(proc.pid, extra_roots, cap_gb * 1024, stop)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    row = {"runner": runner, "wall_s": round(wall, 1), "peak_rss_largest_mb": round(sampler.peak_one),
           "peak_rss_all_mb": round(sampler.peak_total), "rc": proc.returncode}
    if sampler.capped:
        row["stopped"] = f"its processes passed {cap_gb} GB together"
    elif proc.returncode != 0:
        row["error"] = stderr[-1500:]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[30000, 100000, 300000])
    ap.add_argument("--runners", nargs="+", default=["flink", "direct"], choices=["flink", "direct"])
    ap.add_argument("--rss-cap-gb", type=float, default=18.0)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    flink_python = json.loads(subprocess.run([sys.executable, FLINK, "paths"], capture_output=True,
                                             text=True, check=True).stdout)["python"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.docs:
            corpus, truth = generate(n)
            path = os.path.join(tmp, f"corpus-{n}.parquet")
            pq.write_table(corpus, path, compression="zstd")
            del corpus
            for runner in args.runners:
                out = os.path.join(tmp, f"out-{runner}-{n}")
                row = {"docs": n, **run_once(runner, path, out, flink_python, args.rss_cap_gb)}
                if row["rc"] == 0:
                    kept = pq.read_table(os.path.join(out, "documents"), columns=["id"]).column("id").to_pylist()
                    row.update(kept=len(kept), **score(kept, truth))
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{'docs':>8} {'runner':7} {'wall s':>8} {'largest MB':>11} {'all MB':>8} {'kept':>8} groups kept one/none/several")
    for r in rows:
        groups = (f"{r['kept_one']}/{r['kept_none']}/{r['kept_several']} of {r['groups']}" if "groups" in r
                  else r.get("stopped") or "failed")
        print(f"{r['docs']:>8} {r['runner']:7} {r['wall_s']:>8} {r['peak_rss_largest_mb']:>11} "
              f"{r['peak_rss_all_mb']:>8} {r.get('kept', '-'):>8} {groups}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
