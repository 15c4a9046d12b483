"""Dedup quality and shuffle cost on dedup-eval: both presets, with and without verification.

    python bench/dedup_eval.py [--docs PATH] [--pairs PATH]

Runs the real Beam transforms (exact_dedup → minhash_dedup, DirectRunner in-process) and
scores the survivors against the brute-force ground truth (data/dedup-eval/README.md):
  missed  = pairs with Jaccard ≥ 0.85 where both documents survive (target ≤ 2%)
  false   = removed documents with no partner at Jaccard ≥ 0.7       (target ≤ 1%)
Then measures what minhash_dedup shuffles per signed document, with Beam's coder for
each keyed record (FastPrimitivesCoder, as the runner's shuffle encodes it).
"""
from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.options.pipeline_options import PipelineOptions

ROOT = Path(__file__).resolve().parents[1]

from webrefine.dedup import groups, tables
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.select import rank
from webrefine.filters.document import Document
from webrefine.pipeline.beam.dedup_transforms import dedup_transform
from webrefine.pipeline.stats.tally import Tally

SHARED = ROOT.parent / "shared" / "data" / "dedup-eval"
FIXTURES = ROOT / "tests" / "fixtures"


def run(docs, minhash: MinhashDedup, out: Path):
    with beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"])) as p:
        exact = p | beam.Create(docs) | "Exact" >> dedup_transform(ExactDedup())
        near = exact["kept"] | "MinHash" >> dedup_transform(minhash)
        _ = near["kept"] | "KeptIds" >> beam.Map(lambda d: d.id) | "WK" >> beam.io.WriteToText(
            str(out / "kept"), shard_name_template="")
        _ = ((exact["tallies"], near["tallies"]) | beam.Flatten()
             | beam.CombineGlobally(Tally.merged)
             | beam.Map(pickle.dumps) | "WT" >> beam.io.WriteToText(str(out / "tally"), shard_name_template="",
                                                                     coder=beam.coders.BytesCoder()))
    kept = set((out / "kept").read_text().split())
    return kept, pickle.loads((out / "tally").read_bytes().rstrip(b"\n"))


def score(ids, kept, pairs):
    removed = set(ids) - kept
    high = [(a, b) for a, b, j in pairs if j >= 0.85]
    partners = {x for a, b, j in pairs if j >= 0.7 for x in (a, b)}
    missed = sum(a in kept and b in kept for a, b in high)
    false = len(removed - partners)
    return missed, len(high), false, len(removed)


def shuffle_bytes(docs, stage: MinhashDedup):
    """Mean encoded bytes per signed document of what minhash_dedup shuffles for every document:
    its band entries (packed: 16 B each, dedup/lsh.py) and (node id, (D, document)); the record
    with shingles is shuffled only for documents in a candidate edge (returned separately)."""
    coder, hasher = FastPrimitivesCoder(), stage.hasher()
    band, node_v, doc_b, n = 0, 0, 0, 0
    for d in docs:
        hs = hasher.shingle_hashes(d.text)
        if not hs.size:
            continue
        n += 1
        r = rank(d)
        nid = tables.node_id(r)[0]
        band += 16 * stage.n_bands
        node_v += len(coder.encode((nid, (groups.LEAF, r, hs.tobytes()))))
        doc_b += len(coder.encode((nid, (groups.DOC, d))))
    return band / n, node_v / n, doc_b / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, default=SHARED / "docs.parquet" if SHARED.exists()
                    else FIXTURES / "dedup_eval_docs.parquet")
    ap.add_argument("--pairs", type=Path, default=SHARED / "pairs.parquet" if SHARED.exists()
                    else FIXTURES / "dedup_eval_pairs.parquet")
    args = ap.parse_args()
    rows = pq.read_table(args.docs).to_pylist()
    docs = [Document(id=r["id"], url=r["url"], text=r["text"]) for r in rows]
    ids = [d.id for d in docs]
    pairs = [(r["a"], r["b"], r["jaccard"]) for r in pq.read_table(args.pairs).to_pylist()]
    print(f"{len(docs)} docs, {len(pairs)} ground-truth pairs (Jaccard ≥ 0.5); exact_dedup → minhash_dedup\n")
    print(f"{'preset':11s} {'verify':6s} {'removed':>7s} {'missed(≥0.85)':>15s} {'false(<0.7)':>13s} "
          f"{'cand.pairs':>10s} {'unique':>6s} {'rejected':>8s} {'clusters':>8s} {'unconv':>6s} {'wall s':>6s}")
    for preset in ("refinedweb", "fineweb"):
        for verify in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                kept, tally = run(docs, MinhashDedup(preset=preset, verify=verify), Path(tmp))
                wall = time.perf_counter() - t0
            missed, high, false, removed = score(ids, kept, pairs)
            c = tally.counts
            print(f"{preset:11s} {str(verify):6s} {removed:7d} {missed:5d}/{high} {missed / high:6.1%} "
                  f"{false:4d}/{removed} {false / max(removed, 1):5.1%} {c['minhash_dedup.candidate_pairs']:10d} "
                  f"{c['minhash_dedup.unique_pairs']:6d} {c['minhash_dedup.pairs_rejected']:8d} "
                  f"{c['minhash_dedup.clusters']:8d} {c['minhash_dedup.cc_unconverged']:6d} {wall:6.1f}")
    print("\nshuffled bytes per signed document (FastPrimitivesCoder sizes; edges come on top, duplicates only):")
    for preset in ("refinedweb", "fineweb"):
        stage = MinhashDedup(preset=preset)
        band, node_v, doc_b = shuffle_bytes(docs, stage)
        print(f"  {preset:11s} band entries {band:8.0f} B ({band / stage.n_bands:.1f} B × {stage.n_bands}, packed)"
              f"  document {doc_b:5.0f} B  → total {band + doc_b:6.0f} B;"
              f"  + {node_v:5.0f} B (shingles) per document in a candidate edge")
    text_bytes = np.mean([len(d.text.encode()) for d in docs])
    print(f"  (mean text {text_bytes:.0f} B UTF-8)")


if __name__ == "__main__":
    main()
