"""The two extract engines on the same pages: speed, and how their text differs.

For every HTML page of the WARCs this runs trafilatura (the default, with the stage's
options and speed-up) and Resiliparse (``extract: {engine: resiliparse}``), both inline in
this process, and prints:
  * CPU time per page (median of ``--rounds``);
  * pages with text, and characters of text, from each;
  * agreement where both give text: the share of trafilatura's words (as a multiset) that
    Resiliparse's text also has, the reverse, and their length ratio (medians);
  * what the rest of the refinedweb chain (language → gopher_repetition → gopher_quality →
    line_corrections) keeps from each: documents and characters.

    python bench/compare_extractors.py                       # the cc-sample WARCs
    python bench/compare_extractors.py 'path/*.warc.gz' --rounds 3
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
from collections import Counter


DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cc-sample", "*.warc.gz")
DOWNSTREAM = ["language", "gopher_repetition", "gopher_quality", "line_corrections"]


def load_docs(pattern: str):
    from webrefine.pipeline.config import ReadConfig
    from webrefine.pipeline.stats.tally import Tally
    from webrefine.pipeline.io.warc import read_warc

    docs = []
    for path in sorted(glob.glob(pattern)):
        docs += [d for d in read_warc(lambda: open(path, "rb"), path, ReadConfig(), Tally()) if d.html]
    return docs


def overlap(a: list[str], b: list[str]) -> float:
    """Share of the words of ``a`` (with multiplicity) found in ``b``."""
    ca, cb = Counter(a), Counter(b)
    return sum((ca & cb).values()) / max(1, sum(ca.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", nargs="?", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from webrefine.filters.stage import apply_stage
    from webrefine.filters.extract import Extract
    from webrefine.pipeline.config import parse_config

    docs = load_docs(args.pattern)
    if not docs:
        sys.exit(f"no HTML pages in {args.pattern}")
    engines = {name: Extract(engine=name, isolation="inline") for name in ("trafilatura", "resiliparse")}
    times: dict[str, list[float]] = {name: [] for name in engines}
    verdicts: dict[str, list] = {}
    for _ in range(args.rounds):
        for name, stage in engines.items():
            start = time.process_time()
            out = [stage(doc) for doc in docs]
            times[name].append(time.process_time() - start)
            verdicts.setdefault(name, out)
    downstream = parse_config({"stages": DOWNSTREAM}).stages
    for st in downstream:
        st.setup()

    print(f"{len(docs)} HTML pages; CPU time medians of {args.rounds} rounds (extraction + post-formatting)")
    print(f"{'engine':12s} {'ms/page':>8s} {'speed':>6s} {'pages w/ text':>14s} {'text chars':>11s} "
          f"{'kept docs':>10s} {'kept chars':>11s}")
    base = statistics.median(times["trafilatura"])
    for name in engines:
        med = statistics.median(times[name])
        texts = [v.doc.text for v in verdicts[name] if v.keep]
        kept_docs = kept_chars = 0
        for v in verdicts[name]:
            doc = v.doc if v.keep else None
            for st in downstream:
                if doc is None:
                    break
                doc, _ = apply_stage(st, doc)
            if doc is not None:
                kept_docs += 1
                kept_chars += len(doc.text)
        print(f"{name:12s} {med / len(docs) * 1000:8.2f} {base / med:5.1f}x {len(texts):14d} "
              f"{sum(map(len, texts)):11,d} {kept_docs:10d} {kept_chars:11,d}")
    both = [(a.doc.text.split(), b.doc.text.split())
            for a, b in zip(verdicts["trafilatura"], verdicts["resiliparse"]) if a.keep and b.keep]
    if both:
        t_in_r = statistics.median(overlap(t, r) for t, r in both)
        r_in_t = statistics.median(overlap(r, t) for t, r in both)
        ratio = statistics.median(len(r) / max(1, len(t)) for t, r in both)
        print(f"on the {len(both)} pages where both give text (medians): {t_in_r:.1%} of trafilatura's words are "
              f"in Resiliparse's text, {r_in_t:.1%} of Resiliparse's words are in trafilatura's; "
              f"Resiliparse/trafilatura words {ratio:.2f}")


if __name__ == "__main__":
    main()
