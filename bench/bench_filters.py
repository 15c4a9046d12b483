"""Per-document cost of every quality filter on real extracted text, next to trafilatura.

The budget: the filters together must cost well under 10% of extraction. This script
extracts the HTML of the sample WARCs with trafilatura (``favor_precision=True``,
``include_comments=False``, ``deduplicate=False``: docs/rules.md, Extraction), caches the texts in the temp dir,
then times each filter alone and the chains together (median of ``--passes`` passes, CPU
time of this process, so other processes on the machine disturb it less), and times
trafilatura again on a sample in the same run for the ratio. Then it prints per-stage
removal rates on those texts: url_filter on every record's URL, then the RefinedWeb and
FineWeb filter chains on the English texts (fastText, the ``language`` stage) when the
model is available, else on all texts. The ``fineweb`` preset's four filters are timed as
``configs/fineweb.yaml`` sets them too (datatrove's readings, spaCy English tokens: budget
2 ms per document together), with the token cache warm (the medians), from empty, and on texts
the cache has not seen.

    python bench/bench_filters.py                     # the cc-sample WARCs
    python bench/bench_filters.py --passes 9 --trafilatura-sample 256
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter


from webrefine.filters import text_units
from webrefine.filters.document import Document
from webrefine.filters.stage import apply_stage
from webrefine.filters.c4_quality import C4Quality
from webrefine.filters.fineweb_quality import FineWebQuality
from webrefine.filters.line_corrections import LineCorrections
from webrefine.filters.gopher_quality import GopherQuality
from webrefine.filters.gopher_repetition import GopherRepetition
from webrefine.filters.url_filter import UrlFilter
from webrefine.pipeline.config import load_config

DEFAULT_WARCS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cc-sample", "*.warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
clock = time.process_time


def read_pages(paths):
    """(url, html) of every HTML response record."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    for path in paths:
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh, record_types=WarcRecordType.response):
                kind = rec.headers.get("WARC-Identified-Payload-Type") or (rec.http_headers or {}).get("Content-Type", "")
                if not any(t in (kind or "") for t in HTML_TYPES):
                    continue
                body = rec.reader.read()
                try:
                    html = body.decode("utf-8")
                except UnicodeDecodeError:
                    html = body.decode("cp1252", errors="replace")
                yield rec.headers.get("WARC-Target-URI", ""), html


def extract(html):
    """trafilatura as the extract stage runs it: its options, with the speed-up (same text)."""
    from webrefine.filters.extract import Extract

    engine = Extract().make_engine()
    engine.load()  # the speed-up included
    return engine.extract(html) or ""


def load_texts(paths, cache_dir):
    """[(url, text)], extracted once and cached; and the per-doc seconds if extracted now."""
    import trafilatura

    key = hashlib.sha1(json.dumps([trafilatura.__version__] + [(p, os.path.getsize(p)) for p in paths]).encode())
    cache = os.path.join(cache_dir, f"webrefine-bench-texts-{key.hexdigest()[:12]}.json")
    if os.path.exists(cache):
        with open(cache, encoding="utf-8") as fh:
            return json.load(fh), None
    out, seconds = [], []
    for url, html in read_pages(paths):
        start = clock()
        out.append((url, extract(html)))
        seconds.append(clock() - start)
    with open(cache + ".part", "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    os.replace(cache + ".part", cache)
    return out, seconds


def time_trafilatura(paths, sample):
    pages = list(read_pages(paths))
    step = max(1, len(pages) // sample)
    chosen = pages[::step][:sample]
    extract(chosen[0][1])  # warm-up (imports, caches)
    start = clock()
    for _, html in chosen:
        extract(html)
    return (clock() - start) / len(chosen), len(chosen)


def per_doc_us(run, docs, passes):
    """Median over passes of CPU µs per document for ``run(doc)`` over all docs."""
    times = []
    for _ in range(passes):
        text_units.clear_caches()
        start = clock()
        for d in docs:
            run(d)
        times.append((clock() - start) / max(1, len(docs)) * 1e6)
    return statistics.median(times)


def chain(stages):
    def run(d):  # every stage sees every document: the cost when nothing is dropped
        for s in stages:
            s(d)

    return run


def cascade(stages, docs):
    """Run docs through stages in order, as the pipeline does; per-stage counts."""
    rows = []
    for stage in stages:
        kept, reasons = [], Counter()
        for d in docs:
            out, verdict = apply_stage(stage, d)
            if out is None:
                reasons[verdict.reason] += 1
            else:
                kept.append(out)
        rows.append((stage.name, len(docs), len(kept), reasons))
        docs = kept
    return rows


def print_cascade(title, rows):
    print(f"\n{title}")
    print(f"  {'stage':20s} {'in':>6s} {'out':>6s} {'removed':>8s}  top reasons")
    for name, n_in, n_out, reasons in rows:
        rate = 100 * (n_in - n_out) / n_in if n_in else 0.0
        top = ", ".join(f"{r.split('.', 1)[1]} {c}" for r, c in reasons.most_common(4))
        print(f"  {name:20s} {n_in:6d} {n_out:6d} {rate:7.1f}%  {top}")


def english(docs):
    try:
        from webrefine.filters.language import LanguageFilter

        lid = LanguageFilter()
        lid.setup()
    except Exception as exc:  # no fastText or no model: say so and use every text
        print(f"(language stage unavailable: {exc!r}; removal rates are on all texts)")
        return docs, "all texts"
    return [out for out, _ in (apply_stage(lid, d) for d in docs) if out is not None], "English texts (language: en >= 0.65)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warcs", default=DEFAULT_WARCS, help="glob of WARC files (default: shared cc-sample)")
    ap.add_argument("--cache-dir", default=tempfile.gettempdir())
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--trafilatura-sample", type=int, default=128, help="pages re-extracted for the timing")
    args = ap.parse_args(argv)
    paths = sorted(glob.glob(args.warcs))
    if not paths:
        sys.exit(f"no WARC files match {args.warcs}")

    records, first_extraction = load_texts(paths, args.cache_dir)
    docs = [Document(id=str(i), url=u, text=t) for i, (u, t) in enumerate(records) if t]
    typical = [d for d in docs if 4000 <= len(d.text) <= 6000]
    chars = [len(d.text) for d in docs]
    print(f"{len(records)} HTML records, {len(docs)} with text; text chars mean {statistics.mean(chars):.0f}, "
          f"median {statistics.median(chars):.0f}; {len(typical)} typical (4-6 KB)")  # fmt: skip

    url = UrlFilter()
    url.setup()
    rw = [GopherRepetition(), GopherQuality(), LineCorrections()]
    fw = [GopherRepetition(), GopherQuality(), C4Quality(filter_no_terminal_punct=False), FineWebQuality()]
    # The fineweb preset's four text filters as configs/fineweb.yaml sets them (datatrove's
    # readings: spaCy English tokens, ...): the cost of reproducing FineWeb's decisions.
    fw_preset = [s for s in load_config("fineweb").stages if s.name in [f.name for f in fw]]
    text_filters = rw + [C4Quality(), FineWebQuality()]
    url_docs = [Document(id=str(i), url=u) for i, (u, _) in enumerate(records)]

    kept_urls = {d.url for d in url_docs if url(d).keep}
    subset, label = english([d for d in docs if d.url in kept_urls])
    traf, n_traf = time_trafilatura(paths, args.trafilatura_sample)
    print(f"trafilatura.extract: {traf * 1e3:.2f} ms/page (CPU, {n_traf} pages)"
          + (f"; first full extraction {statistics.mean(first_extraction) * 1e3:.2f} ms/page" if first_extraction else ""))  # fmt: skip

    def cost(run, with_typical=True):
        return (per_doc_us(run, docs, args.passes), per_doc_us(run, subset, args.passes),
                per_doc_us(run, typical, args.passes) if with_typical else None)  # fmt: skip

    rows = [("url_filter (on URLs)", per_doc_us(url, url_docs, args.passes), None, None)]
    for f in text_filters:
        rows.append((f.name, *cost(f)))
    for f in fw_preset:
        rows.append((f"{f.name} (fineweb preset)", *cost(f)))
    for name, stages in (("RW chain: rep+quality+lines", rw), ("FineWeb chain: rep+quality+c4+fw", fw),
                         ("fineweb preset: the 4 as configured", fw_preset),
                         ("all five text filters", text_filters)):  # fmt: skip
        rows.append((name, *cost(chain(stages))))
    # The spaCy-token emulation caches each distinct chunk (as spaCy does): the medians above
    # are with a warm cache. Below: English texts the cache has not seen (warmed on the other
    # half of them), and every text from an empty cache.
    from webrefine.filters import spacy_en_tokens

    def unseen_us(texts):
        times = []
        for k in range(args.passes):
            spacy_en_tokens.clear_cache()
            text_units.clear_caches()
            for d in texts[k % 2::2]:
                chain(fw_preset)(d)
            times.append(per_doc_us(chain(fw_preset), texts[1 - k % 2::2], 1))
        return statistics.median(times)

    spacy_en_tokens.clear_cache()
    cold = per_doc_us(chain(fw_preset), docs, 1)
    unseen = unseen_us(subset)
    print(f"fineweb preset chain: {unseen:.0f} µs/doc on {label} the token cache has not seen (warmed on the "
          f"other half; median of {args.passes}); {cold:.0f} µs/doc over all {len(docs)} texts from an empty cache")
    print(f"\n  {'filter':34s} {'µs/doc':>7s} {'% traf':>7s} {'µs EN':>7s} {'% traf':>7s} {'µs 4-6KB':>9s}")
    for name, us, us_en, us_typ in rows:
        en = f"{us_en:7.0f} {100 * us_en / (traf * 1e6):6.2f}%" if us_en is not None else f"{'':>15s}"
        typ = f"{us_typ:9.0f}" if us_typ is not None else ""
        print(f"  {name:34s} {us:7.0f} {100 * us / (traf * 1e6):6.2f}% {en} {typ}")
    print(f"  (CPU time, median of {args.passes} passes; EN: the {len(subset)} {label}; chains: every filter sees")
    print("   every document, sharing the cached text views)")

    print("\nRemoval rates on cc-sample")
    n_url = sum(1 for d in url_docs if not url(d).keep)
    reasons = Counter(url(d).reason for d in url_docs if not url(d).keep)
    print(f"  url_filter on {len(url_docs)} URLs: {n_url} dropped ({100 * n_url / len(url_docs):.1f}%) {dict(reasons)}")
    print_cascade(f"RefinedWeb chain on {len(subset)} {label}", cascade(rw, subset))
    print_cascade(f"FineWeb chain on {len(subset)} {label} (c4 without the terminal-punctuation rule, as FineWeb)",
                  cascade(fw, subset))  # fmt: skip
    print_cascade(f"fineweb preset (datatrove 0.10.1's readings) on {len(subset)} {label}", cascade(fw_preset, subset))
    print(f"\nEach filter alone on the same {len(subset)} texts")
    for f in text_filters:
        dropped = Counter(v.reason for v in map(f, subset) if not v.keep)
        print(f"  {f.name:20s} {100 * sum(dropped.values()) / max(1, len(subset)):5.1f}%  "
              + ", ".join(f"{r.split('.', 1)[1]} {c}" for r, c in dropped.most_common(4)))  # fmt: skip


if __name__ == "__main__":
    main()
