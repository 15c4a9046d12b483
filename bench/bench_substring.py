"""exact_substring_dedup: cost per document and peak memory per part size, against MinHash's
signing cost on the same documents.

    python bench/bench_substring.py                       # parts of 1,000, 4,000 and 16,000 documents
    python bench/bench_substring.py --docs 2000 --rounds 3

Documents: bench/synth_corpus.py's (≈3.5 KB of English-like text, 10% exact and 10% near
copies), 30% of them with one of 20 boilerplate paragraphs (≈60-90 tokens) planted at a random
paragraph break. Each part size runs in a fresh process, so its peak RSS is its own; "memory"
is the peak RSS minus the RSS once the documents and the tokenizer are loaded, i.e. what
deduplicating one part adds to a worker. Times are medians of ``--rounds``, one core.
MinHash: ``refinedweb`` preset (450 × 20) signature and band keys per document, the per-document
CPU of minhash_dedup (its shuffles and clustering come on top).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def documents(n: int, seed: int = 1):
    import numpy as np

    sys.path.insert(0, HERE)
    from synth_corpus import generate, vocabulary

    from webrefine.filters.document import Document

    corpus, _ = generate(n, seed)
    words, p = vocabulary()
    rng = np.random.default_rng(seed + 1)
    boiler = [" ".join(words[rng.choice(len(words), size=int(rng.integers(50, 70)), p=p / p.sum())]).capitalize() + "."
              for _ in range(20)]
    docs = []
    for i, (id_, url, text) in enumerate(zip(*(corpus.column(c).to_pylist() for c in ("id", "url", "text")))):
        if rng.random() < 0.3:
            paras = text.split("\n")
            paras.insert(int(rng.integers(len(paras) + 1)), boiler[int(rng.integers(20))])
            text = "\n".join(paras)
        docs.append(Document(id=id_, url=url, text=text, date=f"2024-01-{1 + i % 28:02d}T00:00:00Z"))
    return docs


def one_size(n: int, rounds: int) -> dict:
    from webrefine.dedup import substring
    from webrefine.dedup.minhash import MinhashDedup
    from webrefine.filters import tokenizer

    docs = documents(n)
    stage = substring.ExactSubstringDedup()
    tok = tokenizer.get(stage.tokenizer)
    tok.spans("warm up")
    base = rss_mb()
    t0 = time.perf_counter()
    out = substring.dedup_part(stage, docs)  # first: the peak RSS is this call's
    times = [time.perf_counter() - t0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for _ in range(rounds - 1):
        t0 = time.perf_counter()
        out = substring.dedup_part(stage, docs)
        times.append(time.perf_counter() - t0)
    tokenize, suffix = [], []  # the two parts of the work, timed apart
    for _ in range(rounds):
        t0 = time.perf_counter()
        encoded = [tok.spans(d.text)[0] for d in docs]
        t1 = time.perf_counter()
        substring.repeated_tokens(encoded, stage.min_tokens)
        tokenize.append(t1 - t0)
        suffix.append(time.perf_counter() - t1)
        del encoded
    hasher = MinhashDedup().hasher()
    mh = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for d in docs:
            hasher.band_keys(hasher.signature(hasher.shingle_hashes(d.text)))
        mh.append(time.perf_counter() - t0)
    n_tokens = sum(o.tokens_in for o in out)
    return {
        "docs": n, "tokens": n_tokens, "text_mb": round(sum(len(d.text) for d in docs) / 1e6, 1),
        "ms_per_doc": round(1000 * statistics.median(times) / n, 3),
        "tokenize_ms_per_doc": round(1000 * statistics.median(tokenize) / n, 3),
        "suffix_array_ms_per_doc": round(1000 * statistics.median(suffix) / n, 3),
        "minhash_ms_per_doc": round(1000 * statistics.median(mh) / n, 3),
        "part_memory_mb": round(peak - base, 1), "bytes_per_token": round((peak - base) * 2**20 / n_tokens, 1),
        "documents_cut": sum(bool(o.spans) for o in out), "dropped": sum(o.dropped for o in out),
        "chars_cut_pct": round(100 * sum(o.chars_cut for o in out) / sum(len(d.text) for d in docs), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.rounds)))
        return
    for n in args.docs:  # a fresh process per size: its own peak RSS
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--rounds", str(args.rounds)],
                             check=True, capture_output=True, text=True).stdout
        print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
