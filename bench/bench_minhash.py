"""MinHash signature speed: datasketch's straightforward batch use vs ours, one run.

    python bench/bench_minhash.py [--docs PATH] [--repeats 3] [--limit N]

For each preset (refinedweb 450×20 = 9,000 permutations, fineweb 14×8 = 112) and each
method, every document goes from text to signature on one core (this process):
  datasketch/update_batch  per doc: MinHash(num_perm, seed=1).update_batch(shingle bytes)
  datasketch/bulk          MinHash.bulk over all docs (permutations built once)
  ours/numpy               MinHasher(kernel="numpy"): shingle_hashes → signature
  ours/numba               the same with the numba kernel (when numba is installed)
  ours+bands               the default kernel plus the LSH band keys the pipeline emits
All methods share the same tokenisation (lowercased ``\\w+``, word 5-grams). Methods are
interleaved and repeated; the median pass is reported. Detection quality is checked in
the same run: the MinHash Jaccard estimate of every dedup-eval pair (pairs.parquet, next
to the docs) against its exact Jaccard, for datasketch's signatures and ours.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from datasketch import MinHash

ROOT = Path(__file__).resolve().parents[1]

from webrefine.dedup import shingles
from webrefine.dedup import kernels
from webrefine.dedup.minhash import MinHasher, MinhashDedup

DEFAULT_DOCS = ROOT.parent / "shared" / "data" / "dedup-eval" / "docs.parquet"
FALLBACK_DOCS = ROOT / "tests" / "fixtures" / "dedup_eval_docs.parquet"


def shingle_bytes(text: str) -> list[bytes]:
    return [s.encode("utf-8") for s in shingles.shingles(shingles.words(text))]


def ds_update_batch(texts, num_perm):
    out = []
    for t in texts:
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(shingle_bytes(t))
        out.append(m.hashvalues)
    return out


def ds_bulk(texts, num_perm):
    return [m.hashvalues for m in MinHash.bulk((shingle_bytes(t) for t in texts), num_perm=num_perm, seed=1)]


def ours(texts, hasher):
    return [hasher.signature(hasher.shingle_hashes(t)) for t in texts]


def ours_bands(texts, hasher):
    out = []
    for t in texts:
        sig = hasher.signature(hasher.shingle_hashes(t))
        hasher.band_keys(sig)
        out.append(sig)
    return out


def estimate_error(sigs, index, pairs):
    errs = [abs(float(np.mean(sigs[index[a]] == sigs[index[b]])) - j) for a, b, j in pairs]
    return float(np.mean(errs)), float(np.max(errs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=DEFAULT_DOCS if DEFAULT_DOCS.exists() else FALLBACK_DOCS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    table = pq.read_table(args.docs)
    ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
    if args.limit:
        ids, texts = ids[:args.limit], texts[:args.limit]
    pairs_path = args.docs.with_name("pairs.parquet")
    if not pairs_path.exists():
        pairs_path = FALLBACK_DOCS.with_name("dedup_eval_pairs.parquet")
    index = {i: k for k, i in enumerate(ids)}
    pairs = [(r["a"], r["b"], r["jaccard"]) for r in pq.read_table(pairs_path).to_pylist()
             if r["a"] in index and r["b"] in index]
    n_sh = [len(shingles.shingles(shingles.words(t))) for t in texts]
    print(f"{len(texts)} docs from {args.docs}, mean {np.mean(n_sh):.0f} unique 5-gram shingles/doc; "
          f"{args.repeats} interleaved passes, median; one core")
    for preset in ("refinedweb", "fineweb"):
        stage = MinhashDedup(preset=preset)
        hashers = {k: MinHasher(stage.n_bands, stage.n_rows, stage.seed, kernel=k) for k in kernels.available()}
        default = stage.hasher()  # what the pipeline uses: numba when installed
        methods = {
            "datasketch/update_batch": lambda: ds_update_batch(texts, stage.num_perm),
            "datasketch/bulk": lambda: ds_bulk(texts, stage.num_perm),
            **{f"ours/{k}": (lambda h=h: ours(texts, h)) for k, h in hashers.items()},
            f"ours+bands/{default.kernel_name}": lambda: ours_bands(texts, default),
        }
        times = {m: [] for m in methods}
        sigs = {}
        for _ in range(args.repeats):
            for m, fn in methods.items():
                t0 = time.perf_counter()
                sigs[m] = fn()
                times[m].append(time.perf_counter() - t0)
        base = statistics.median(times["datasketch/update_batch"])
        print(f"\n{preset}: {stage.n_bands} bands × {stage.n_rows} rows = {stage.num_perm} permutations")
        print(f"  {'method':24s} {'ms/doc':>8s} {'sig/s/core':>11s} {'speedup':>8s}")
        for m in methods:
            t = statistics.median(times[m])
            print(f"  {m:24s} {t / len(texts) * 1e3:8.3f} {len(texts) / t:11.0f} {base / t:7.2f}x")
        for m in ("datasketch/update_batch", "ours/numpy"):
            mae, mx = estimate_error(sigs[m], index, pairs)
            print(f"  Jaccard estimate vs exact over {len(pairs)} pairs, {m:24s} mean |err| {mae:.4f}  max {mx:.4f}")


if __name__ == "__main__":
    main()
