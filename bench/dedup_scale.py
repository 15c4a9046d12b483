"""Dedup cost as the input grows: wall time, peak RSS and memory per document, DirectRunner.

    python bench/dedup_scale.py --docs 30000 100000 300000 1000000 --workers 16 [--config dedup] \\
        [--repeat 3] [--files 16] [--corpus-dir DIR] [--json rows.json]

For each size it generates (or reuses, in ``--corpus-dir``) the synthetic corpus of
bench/synth_corpus.py (80% unique, 10% exact and 10% near copies, every group known) as ``--files``
Parquet files (a real input is many files: WARCs, dataset shards), runs
``webrefine run --config CONFIG`` on it (in-process for 1 worker, else multi_processing with
``--workers``) and reports, as the median of ``--repeat`` runs: the wall time, the peak RSS of the
largest process and of all the run's processes together (sampled from /proc every 0.5 s), and
whether each group of planted duplicates kept exactly one document. ``--config fineweb-dedup``
runs the same stages with the fineweb preset (14 × 8): see ``FINEWEB``.
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

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from flink_dedup import Sampler  # noqa: E402
from synth_corpus import generate, score  # noqa: E402

# the dedup preset's stages with minhash_dedup's fineweb preset (14 bands × 8 rows, verified)
FINEWEB = {"name": "dedup-fineweb", "stages": ["exact_dedup", {"minhash_dedup": {"preset": "fineweb"}}]}


def corpus(n: int, folder: str, files: int) -> tuple[str, str]:
    """(input pattern, truth path) of the n-document corpus split into ``files`` Parquet files."""
    parts, truth = os.path.join(folder, f"corpus-{n}-{files}"), os.path.join(folder, f"truth-{n}.parquet")
    if not os.path.exists(os.path.join(parts, "_done")):
        table, t = generate(n, processes=os.cpu_count() or 1)
        os.makedirs(parts, exist_ok=True)
        step = -(-n // files)
        for i in range(files):
            pq.write_table(table.slice(i * step, step), os.path.join(parts, f"part-{i:04d}.parquet"),
                           compression="zstd")
        pq.write_table(t, truth)
        open(os.path.join(parts, "_done"), "w").close()
    return os.path.join(parts, "*.parquet"), truth


def run_once(path: str, out: str, config: str, workers: int, cap_gb: float) -> dict:
    flags = [] if workers <= 1 else ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    cmd = [sys.executable, "-m", "webrefine", "run", "--config", config, "--input", path, "--output", out,
           "--no-progress", "--overwrite", *flags]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = Sampler(proc.pid, [], cap_gb * 1024, lambda: os.killpg(proc.pid, 9))
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    row = {"wall_s": round(wall, 1), "largest_mb": round(sampler.peak_one), "all_mb": round(sampler.peak_total),
           "rc": proc.returncode}
    if sampler.capped:
        row["stopped"] = f"passed {cap_gb} GB"
    elif proc.returncode != 0:
        row["error"] = stderr[-1500:]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[30000, 100000])
    ap.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    ap.add_argument("--config", default="dedup", help="a preset, a YAML path, or fineweb-dedup")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--files", type=int, default=16, help="input Parquet files the corpus is split into")
    ap.add_argument("--rss-cap-gb", type=float, default=100.0)
    ap.add_argument("--corpus-dir", help="keep generated corpora here (default: a temp folder)")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.corpus_dir or tmp
        os.makedirs(folder, exist_ok=True)
        config = args.config
        if config == "fineweb-dedup":
            config = os.path.join(tmp, "fineweb-dedup.yaml")
            with open(config, "w") as fh:
                json.dump(FINEWEB, fh)  # JSON is YAML
        for n in args.docs:
            path, truth_path = corpus(n, folder, args.files)
            truth = pq.read_table(truth_path)
            for w in args.workers:
                runs = []
                for _ in range(args.repeat):
                    out = os.path.join(tmp, "out")
                    r = run_once(path, out, config, w, args.rss_cap_gb)
                    if r["rc"] == 0:
                        kept = pq.read_table(os.path.join(out, "documents"), columns=["id"]).column("id").to_pylist()
                        with open(os.path.join(out, "stats.json")) as fh:
                            counters = json.load(fh).get("counters", {})
                        r.update(kept=len(kept), **score(kept, truth),
                                 unconverged=counters.get("minhash_dedup.cc_unconverged"),
                                 minhash={k.split(".", 1)[1]: v for k, v in counters.items()
                                          if k.startswith("minhash_dedup.") and isinstance(v, int)})
                    runs.append(r)
                    print(json.dumps({"docs": n, "workers": w, **r}), flush=True)
                ok = [r for r in runs if r["rc"] == 0]
                row = {"docs": n, "workers": w, "config": args.config, "runs": len(runs), "ok": len(ok)}
                if ok:
                    for key in ("wall_s", "largest_mb", "all_mb"):
                        row[key] = statistics.median(r[key] for r in ok)
                    row["kb_per_doc_all"] = round(row["all_mb"] * 1024 / n, 1)
                    row.update({k: ok[0][k] for k in ("kept", "groups", "kept_one", "kept_none", "kept_several")})
                else:
                    row["error"] = runs[-1].get("stopped") or runs[-1].get("error", "")[-300:]
                rows.append(row)
    print(f"\n{'docs':>8} {'workers':>7} {'wall s':>7} {'largest MB':>10} {'all MB':>7} {'KB/doc':>7} "
          "groups kept one/none/several")
    for r in rows:
        groups = (f"{r['kept_one']}/{r['kept_none']}/{r['kept_several']} of {r['groups']}" if "groups" in r
                  else r.get("error", "failed"))
        print(f"{r['docs']:>8} {r['workers']:>7} {r.get('wall_s', '-'):>7} {r.get('largest_mb', '-'):>10} "
              f"{r.get('all_mb', '-'):>7} {r.get('kb_per_doc_all', '-'):>7} {groups}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
