"""Record datatrove 0.10.1's FineWeb filter decisions on real English texts, as a test fixture.

The differential test (tests/filters/test_fineweb_reference.py) compares the ``fineweb``
preset's four text filters with these recorded decisions; datatrove is not a dependency of
webrefine, so the decisions are recorded once, with this script, in two steps:

1. ``texts``, in webrefine's environment: read WARC files with webrefine's own reader
   (charset decoding included), then url_filter, extract and language exactly as the
   ``fineweb`` preset configures them; the English texts that reach ``gopher_repetition``
   are written to the fixture (id, url, text). The dedup-eval texts (already extracted, kept
   in the repository) add the dedup fixture's English texts, through the language stage.

       python scripts/record_fineweb_reference.py texts \\
           --warcs '../shared/data/cc-sample/*.warc.gz' --warcs pipeline/data/sample.warc.gz \\
           --parquet tests/fixtures/dedup_eval_docs.parquet

2. ``decisions``, in a separate environment holding ``datatrove==0.10.1`` and spaCy
   (``pip install 'datatrove[processing]==0.10.1' spacy pyarrow``; it needs no download):
   every text goes through datatrove's four filters of ``examples/fineweb.py``
   (GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
   FineWebQualityFilter()), each filter on every text so that each is compared on its own:
   the first three on the text, FineWebQualityFilter on C4's rewritten text when C4 kept
   the document (as in the chain) and on the text otherwise. It records each filter's
   keep/drop, datatrove's reason, C4's output text, and the chain's verdict; and spaCy's tokens
   of the text (count and SHA-1 of the list) and each line's sentence count, for the test of
   ``filters/spacy_en_tokens.py``.

       /work/venv-datatrove/bin/python scripts/record_fineweb_reference.py decisions

The fixture is ``tests/fixtures/fineweb_reference.jsonl.gz``: one JSON object per text.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import sys

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "fineweb_reference.jsonl.gz")
FILTERS = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def read_fixture(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_fixture(path: str, rows: list[dict]) -> None:
    # mtime=0: the same rows give the same bytes (a re-run shows no diff)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))


def english_texts(warcs: list[str], parquets: list[str]) -> list[dict]:
    """The texts the fineweb preset hands to gopher_repetition, read with webrefine itself.

    Text datasets (``--parquet``: id, url, text) go through the language stage only; their
    edited variants (dedup-eval: word edits, truncations, boilerplate added) are real-text
    cases too, so they stay; exact copies of a text already taken are skipped.
    """
    from webrefine.filters.document import Document
    from webrefine.filters.stage import apply_stage, apply_verdict
    from webrefine.pipeline.config import ReadConfig, load_config
    from webrefine.pipeline.io.warc import read_warc
    from webrefine.pipeline.stats.tally import Tally

    cfg = load_config("fineweb")
    stages = [s for s in cfg.stages if s.name in ("url_filter", "extract", "language")]
    for s in stages:
        s.setup()
    rows, seen = [], set()
    try:
        for path in warcs:
            for doc in read_warc(lambda p=path: open(p, "rb"), os.path.basename(path), ReadConfig(), Tally()):
                for stage in stages:
                    if stage.name == "extract":
                        doc, _ = apply_verdict(stage, doc, stage.call_batch([doc])[0])
                    else:
                        doc, _ = apply_stage(stage, doc)
                    if doc is None:
                        break
                if doc is not None and doc.text not in seen:
                    seen.add(doc.text)
                    rows.append({"id": doc.id, "url": doc.url, "source": doc.source, "text": doc.text})
        language = next(s for s in stages if s.name == "language")
        for path in parquets:
            import pyarrow.parquet as pq

            for rec in pq.read_table(path, columns=["id", "url", "text"]).to_pylist():
                doc, _ = apply_stage(language, Document(id=rec["id"], url=rec["url"], text=rec["text"]))
                if doc is not None and doc.text not in seen:
                    seen.add(doc.text)
                    rows.append({"id": doc.id, "url": doc.url, "source": os.path.basename(path), "text": doc.text})
    finally:
        for s in stages:
            s.teardown()
    return rows


def datatrove_decisions(rows: list[dict]) -> None:
    """Adds datatrove's per-filter decisions to each row (in place)."""
    import datatrove
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter,
    )

    assert datatrove.__version__ if hasattr(datatrove, "__version__") else True
    filters = {
        "gopher_repetition": GopherRepetitionFilter(),
        "gopher_quality": GopherQualityFilter(),
        "c4_quality": C4QualityFilter(filter_no_terminal_punct=False),
        "fineweb_quality": FineWebQualityFilter(),
    }

    def decide(name: str, text: str) -> tuple[bool, str | None, str]:
        doc = Document(text=text, id="x")
        out = filters[name].filter(doc)
        keep, reason = (out, None) if isinstance(out, bool) else out
        return bool(keep), reason, doc.text

    import hashlib

    from datatrove.utils.text import split_into_sentences, split_into_words

    for row in rows:
        # spaCy's tokens (what filters/spacy_en_tokens.py reproduces): their number and a
        # hash of the list; and the sentences of every non-blank line, as C4 counts them
        toks = split_into_words(row["text"], "en")
        row["spacy_tokens"] = {"count": len(toks),
                               "sha1": hashlib.sha1("\x00".join(toks).encode("utf-8")).hexdigest()}
        row["spacy_line_sentences"] = [len(split_into_sentences(ln.strip(), "en"))
                                       for ln in row["text"].splitlines() if ln.strip()]
        decisions = {}
        for name in FILTERS[:3]:
            keep, reason, text = decide(name, row["text"])
            decisions[name] = {"keep": keep, "reason": reason}
            if name == "c4_quality":
                row["c4_text"] = text if keep else None
        keep, reason, _ = decide("fineweb_quality", row["c4_text"] if row["c4_text"] is not None else row["text"])
        decisions["fineweb_quality"] = {"keep": keep, "reason": reason}
        row["datatrove"] = decisions
        row["datatrove_chain"] = next((n for n in FILTERS if not decisions[n]["keep"]), None)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("texts", "decisions"))
    ap.add_argument("--warcs", action="append", help="WARC glob (repeatable; step texts)")
    ap.add_argument("--parquet", action="append", help="text dataset (id, url, text; step texts)")
    ap.add_argument("--fixture", default=FIXTURE)
    args = ap.parse_args(argv)
    if args.step == "texts":
        paths = sorted({p for pattern in args.warcs or [] for p in glob.glob(pattern)})
        if not paths:
            sys.exit("no WARC files given (--warcs)")
        rows = english_texts(paths, args.parquet or [])
        write_fixture(args.fixture, rows)
        print(f"{len(rows)} English texts from {len(paths)} WARC files and {len(args.parquet or [])} datasets"
              f" -> {args.fixture}")
    else:
        import importlib.metadata

        version = importlib.metadata.version("datatrove")
        if version != "0.10.1":
            sys.exit(f"datatrove {version} installed; the reference is 0.10.1")
        rows = read_fixture(args.fixture)
        datatrove_decisions(rows)
        for row in rows:
            row["datatrove_version"] = version
        write_fixture(args.fixture, rows)
        dropped = sum(1 for r in rows if r["datatrove_chain"])
        print(f"datatrove {version}: {len(rows)} texts, {dropped} dropped by the chain -> {args.fixture}")


if __name__ == "__main__":
    main()
