"""Deduplicating N new documents against an index of R × N earlier ones, against deduplicating all
(R + 1) × N together from scratch (``--dedup-against``, docs/rules.md, Incremental dedup).

    python bench/incremental_dedup.py --docs 2000 5000 [--ratio 10] [--config dedup] [--repeat 3] [--dir DIR]

For each N: bench/synth_corpus.py generates (R + 1) × N documents (80% unique, 10% exact, 10% near
copies, duplicates spread at random); the first R × N are the earlier run (dated 2023), the last N
the new one (dated 2024, so the earlier documents come first by the survivor order). It runs the
earlier run once (its index is written), then, alternating, ``--repeat`` times each: the new
documents ``--dedup-against`` the earlier run, and one run over all documents. Reported: medians of
wall time and peak RSS (largest process and all processes, sampled from /proc every 0.5 s), the
index's bytes per kept document beside the documents' own, and two checks: the new run keeps
exactly the new documents the run over all documents keeps, and every planted group is kept once
over the earlier run's and the new run's documents together. DirectRunner in-process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from flink_dedup import Sampler  # noqa: E402
from synth_corpus import generate, score  # noqa: E402

CONFIGS = {  # the dedup preset, and its stages with minhash_dedup's fineweb preset (14 × 8, verified)
    "dedup": "dedup",
    "fineweb-dedup": {"name": "dedup-fineweb", "stages": ["exact_dedup", {"minhash_dedup": {"preset": "fineweb"}}]},
}


def run(inputs: list[str], out: str, config: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "webrefine", "run", "--config", config, "--output", out, "--no-progress",
           "--overwrite", *[a for p in inputs for a in ("--input", p)], *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = Sampler(proc.pid, [], 20 * 1024, lambda: os.killpg(proc.pid, 9))
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return {"wall_s": wall, "largest_mb": sampler.peak_one, "all_mb": sampler.peak_total}


def kept(out: str) -> set[str]:
    return set(pq.read_table(os.path.join(out, "documents"), columns=["id"]).column("id").to_pylist())


def split(n: int, ratio: int, folder: str) -> tuple[str, str, pa.Table]:
    table, truth = generate((ratio + 1) * n, processes=os.cpu_count() or 1)
    cut = ratio * n
    paths = []
    for name, part, date in (("earlier", table.slice(0, cut), "2023-01-01T00:00:00Z"),
                             ("new", table.slice(cut), "2024-01-01T00:00:00Z")):
        path = os.path.join(folder, f"{name}-{n}.parquet")
        pq.write_table(part.append_column("date", pa.array([date] * part.num_rows)), path, compression="zstd")
        paths.append(path)
    return paths[0], paths[1], truth


def bench(n: int, ratio: int, config: str, repeat: int, folder: str) -> dict:
    earlier_in, new_in, truth = split(n, ratio, folder)
    out_e, out_i, out_f = (os.path.join(folder, f"{k}-{n}") for k in ("earlier", "incremental", "full"))
    first = run([earlier_in], out_e, config, [])
    manifest = json.load(open(os.path.join(out_e, "index", "_manifest.json")))
    inc, full = [], []
    for _ in range(repeat):
        inc.append(run([new_in], out_i, config, ["--dedup-against", out_e]))
        full.append(run([earlier_in, new_in], out_f, config, []))
    new_ids = set(pq.read_table(new_in, columns=["id"]).column("id").to_pylist())
    same = kept(out_i) == kept(out_f) & new_ids
    groups = score(sorted(kept(out_e) | kept(out_i)), truth)

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    return {
        "new_docs": n, "earlier_docs": ratio * n, "earlier_kept": manifest["documents"],
        "earlier_run_s": round(first["wall_s"], 1),
        "incremental_s": round(med(inc, "wall_s"), 1), "from_scratch_s": round(med(full, "wall_s"), 1),
        "incremental_largest_mb": round(med(inc, "largest_mb")), "from_scratch_largest_mb": round(med(full, "largest_mb")),
        "index_bytes_per_doc": round(manifest["bytes"]["index"] / max(1, manifest["documents"])),
        "documents_bytes_per_doc": round(manifest["bytes"]["documents"] / max(1, manifest["documents"])),
        "same_as_from_scratch": same, "groups": groups,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[2000])
    ap.add_argument("--ratio", type=int, default=10)
    ap.add_argument("--config", default="dedup", choices=sorted(CONFIGS))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dir", help="working folder (default: a temporary one)")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    folder = args.dir or tempfile.mkdtemp(prefix="incremental-dedup-")
    os.makedirs(folder, exist_ok=True)
    config = CONFIGS[args.config]
    if isinstance(config, dict):
        path = os.path.join(folder, "config.yaml")
        with open(path, "w") as fh:
            yaml.safe_dump(config, fh)
        config = path
    rows = []
    for n in args.docs:
        row = bench(n, args.ratio, config, args.repeat, folder)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
