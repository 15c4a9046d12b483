"""A synthetic text corpus for dedup benchmarks, with every duplicate known.

    python bench/synth_corpus.py --docs 100000 --out /tmp/corpus-100k   # corpus.parquet + truth.parquet

80% of the documents are unique base documents; 10% are exact copies of a base document and
10% are copies with 1% of their words replaced (Jaccard of word 5-gram shingles about 0.9, well
above minhash_dedup's 0.8). A base document and its copies form a group; a correct dedup keeps
exactly one document of each group and every document that is alone.

Text looks natural to the filters and to shingling: words are drawn from the English vocabulary
of the English texts in the dedup-eval fixture with Zipf-like frequencies, in sentences of 6-25 words and paragraphs
of 2-6 sentences, about 3.5 KB per document. Two base documents share almost no 5-gram.
``truth.parquet`` holds (id, group); ``score()`` checks a run's kept ids against it.
"""
from __future__ import annotations

import argparse
import os
import re
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "dedup_eval_docs.parquet")
WORDS_PER_DOC = 640  # ~3.5 KB of text


def vocabulary() -> tuple[np.ndarray, np.ndarray]:
    counts = Counter()
    common = {"the", "and", "of", "to", "a", "in", "is", "that", "for", "it", "with", "on"}
    for text in pq.read_table(FIXTURE, columns=["text"]).column("text").to_pylist():
        tokens = re.findall(r"[a-z]+", text.lower())
        if tokens and sum(t in common for t in tokens) / len(tokens) > 0.15:  # English texts only
            counts.update(w for w in tokens if len(w) > 1 or w in ("a", "i"))
    words = np.array([w for w, _ in counts.most_common(20000)], dtype=object)
    ranks = np.arange(1, len(words) + 1)
    p = 1.0 / ranks ** 1.05  # Zipf: a few very common words, a long tail
    return words, p / p.sum()


def render(tokens: list[str], rng: np.random.Generator) -> str:
    paragraphs, sentence, para = [], [], []
    lengths = iter(rng.integers(6, 26, size=len(tokens)))
    per_para = iter(rng.integers(2, 7, size=len(tokens)))
    want, sentences_left = next(lengths), next(per_para)
    for tok in tokens:
        sentence.append(tok)
        if len(sentence) >= want:
            para.append(" ".join(sentence).capitalize() + ".")
            sentence, want = [], next(lengths)
            sentences_left -= 1
            if sentences_left == 0:
                paragraphs.append(" ".join(para))
                para, sentences_left = [], next(per_para)
    if sentence:
        para.append(" ".join(sentence).capitalize() + ".")
    if para:
        paragraphs.append(" ".join(para))
    return "\n".join(paragraphs)


_JOBS: list[tuple[list[str], int, int]] = []  # read by forked workers, never pickled


def _render_range(bounds: tuple[int, int]) -> list[str]:
    return [render(toks, np.random.default_rng([seed, g])) for toks, seed, g in _JOBS[bounds[0]:bounds[1]]]


def _render_all(jobs: list[tuple[list[str], int, int]], processes: int) -> list[str]:
    """render() over (tokens, seed, group) jobs: the same texts with any number of processes."""
    global _JOBS
    _JOBS = jobs
    try:
        if processes <= 1 or len(jobs) < 10000:
            return _render_range((0, len(jobs)))
        from multiprocessing import get_context
        step = max(1, len(jobs) // (processes * 4))
        with get_context("fork").Pool(processes) as pool:
            parts = pool.map(_render_range, [(i, i + step) for i in range(0, len(jobs), step)])
        return [t for part in parts for t in part]
    finally:
        _JOBS = []


def generate(n_docs: int, seed: int = 1, processes: int = 1) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    words, p = vocabulary()
    n_exact = n_near = n_docs // 10
    n_base = n_docs - n_exact - n_near
    drawn = np.searchsorted(np.cumsum(p), rng.random(n_base * WORDS_PER_DOC) * p.sum()).clip(0, len(words) - 1)
    base_tokens = words[drawn].reshape(n_base, WORDS_PER_DOC).tolist()
    texts = _render_all([(toks, seed, g) for g, toks in enumerate(base_tokens)], processes)
    ids, groups = [f"b{g:08d}" for g in range(n_base)], list(range(n_base))
    for k, g in enumerate(rng.integers(0, n_base, size=n_exact)):
        ids.append(f"e{k:08d}")
        texts.append(texts[g])
        groups.append(int(g))
    near = []
    for k, g in enumerate(rng.integers(0, n_base, size=n_near)):
        toks = list(base_tokens[g])
        for pos in rng.choice(len(toks), size=max(1, len(toks) // 100), replace=False):
            toks[pos] = words[rng.integers(len(words))]
        ids.append(f"n{k:08d}")
        near.append((toks, seed, int(g)))  # rendered with its base's layout
        groups.append(int(g))
    texts += _render_all(near, processes)
    order = rng.permutation(len(ids))  # copies are not next to their originals
    corpus = pa.table({"id": [ids[i] for i in order], "url": [f"https://example.com/{ids[i]}" for i in order],
                       "text": [texts[i] for i in order]})
    truth = pa.table({"id": [ids[i] for i in order], "group": [groups[i] for i in order]})
    return corpus, truth


def score(kept_ids: list[str], truth: pa.Table) -> dict[str, int]:
    """Groups that kept exactly one document, none, or more than one."""
    group_of = dict(zip(truth.column("id").to_pylist(), truth.column("group").to_pylist()))
    kept_per_group = Counter(group_of[i] for i in kept_ids)
    groups = set(group_of.values())
    return {"groups": len(groups),
            "kept_one": sum(1 for g in groups if kept_per_group[g] == 1),
            "kept_none": sum(1 for g in groups if kept_per_group[g] == 0),
            "kept_several": sum(1 for g in groups if kept_per_group[g] > 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--out", required=True, help="folder for corpus.parquet and truth.parquet")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=1, help="render with this many processes (same corpus)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    corpus, truth = generate(args.docs, args.seed, args.processes)
    pq.write_table(corpus, os.path.join(args.out, "corpus.parquet"), compression="zstd")
    pq.write_table(truth, os.path.join(args.out, "truth.parquet"))
    print(f"{corpus.num_rows} documents, {sum(map(len, corpus.column('text').to_pylist())) / corpus.num_rows:.0f} "
          f"chars each on average → {args.out}")


if __name__ == "__main__":
    main()
