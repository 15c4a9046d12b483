"""Record datatrove 0.10.1's FineWeb filter decisions on real English texts, as a test fixture.

The differential test (tests/filters/test_fineweb_reference.py) compares the ``fineweb``
preset's four text filters with these recorded decisions; datatrove is not a dependency of
webrefine, so the decisions are recorded once, with this script, in two steps (a third compares):

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

       DT_VENV/bin/python scripts/record_fineweb_reference.py decisions   # DT_VENV: that environment

3. ``compare``, in webrefine's environment: per-filter agreement of the ``fineweb`` preset with
   the recorded decisions, then with each of its datatrove readings reverted to webrefine's
   default, one at a time, and with the default semantics (the preset before issue 18).

       python scripts/record_fineweb_reference.py compare

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
    # no name, mtime=0: the same rows give the same bytes wherever written (a re-run shows no diff)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
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
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter,
    )

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


def decisions(filters: dict, text: str) -> tuple[dict[str, bool], str | None]:
    """webrefine's keep/drop per filter on ``text`` (fineweb_quality on C4's output when C4
    keeps the document, as recorded for datatrove), and C4's output text."""
    from webrefine.filters.document import Document
    from webrefine.filters.stage import apply_stage

    doc = Document(id="x", url="", text=text)
    out: dict[str, bool] = {}
    c4_text = None
    for name in FILTERS[:3]:
        kept, _ = apply_stage(filters[name], doc)
        out[name] = kept is not None
        if name == "c4_quality" and kept is not None:
            c4_text = kept.text
    kept, _ = apply_stage(filters["fineweb_quality"], doc.replace(text=c4_text if c4_text is not None else text))
    out["fineweb_quality"] = kept is not None
    return out, c4_text


def agreement(rows: list[dict], filters: dict) -> dict:
    """Per filter, the share of texts where webrefine's ``filters`` decide as datatrove did; the
    chain's keep/drop agreement; the share of identical C4 texts; the differing cases."""
    per_filter = dict.fromkeys(FILTERS, 0)
    chain = same_c4_text = both_kept_c4 = 0
    misses: list[tuple[str, str, str | None]] = []
    for row in rows:
        ours, c4_text = decisions(filters, row["text"])
        theirs = {name: row["datatrove"][name]["keep"] for name in FILTERS}
        for name in FILTERS:
            if ours[name] == theirs[name]:
                per_filter[name] += 1
            else:
                misses.append((row["id"], name, row["datatrove"][name]["reason"]))
        chain += all(ours.values()) == all(theirs.values())
        if c4_text is not None and row["c4_text"] is not None:
            both_kept_c4 += 1
            same_c4_text += c4_text == row["c4_text"]
    n = len(rows)
    return {"n": n, "per_filter": {k: v / n for k, v in per_filter.items()}, "chain": chain / n,
            "c4_text": same_c4_text / both_kept_c4 if both_kept_c4 else 1.0, "misses": misses}


def preset_filters(config: str = "fineweb", **overrides: dict) -> dict:
    """The preset's four text filters; ``overrides``: {filter: {parameter: value}}."""
    import dataclasses

    from webrefine.pipeline.config import load_config

    stages = {s.name: s for s in load_config(config).stages}
    return {name: dataclasses.replace(stages[name], **overrides.get(name, {})) for name in FILTERS}


# Each datatrove reading of the fineweb preset, reverted to webrefine's default one at a time
# (``compare``): how many decisions each one carries.
ABLATIONS = {
    "gopher_repetition.duplicates=all": {"gopher_repetition": {"duplicates": "all"}},
    "gopher_repetition.segments=stripped": {"gopher_repetition": {"segments": "stripped"}},
    "gopher_repetition.char_fractions_of=units": {"gopher_repetition": {"char_fractions_of": "units"}},
    "gopher_repetition.tokens=word_chars": {"gopher_repetition": {"tokens": "word_chars"}},
    "gopher_quality.words=whitespace": {"gopher_quality": {"words": "whitespace"}},
    "gopher_quality.stop_word_count=occurrences": {"gopher_quality": {"stop_word_count": "occurrences"}},
    "gopher_quality.lines=non_empty": {"gopher_quality": {"lines": "non_empty"}},
    "gopher_quality.bullets+ellipses=default": {"gopher_quality": {"bullets": ("\u25cf", "\u2022", "*", "-"),
                                                                   "ellipses": ("...", ". . .", "\u2026")}},
    "c4_quality.filter_no_terminal_punct=true": {"c4_quality": {"filter_no_terminal_punct": True}},
    "c4_quality.TFDS values (3 sentences, 5 words)": {"c4_quality": {"min_num_sentences": 3, "min_words_per_line": 5}},
    "c4_quality.sentences=regex": {"c4_quality": {"sentences": "regex"}},
    "c4_quality.recount_after_citations=true": {"c4_quality": {"recount_after_citations": True}},
    "fineweb_quality.strip_lines=true": {"fineweb_quality": {"strip_lines": True}},
    "fineweb_quality.strict_thresholds=false": {"fineweb_quality": {"strict_thresholds": False}},
    "fineweb_quality.filter_list_ratio=false": {"fineweb_quality": {"filter_list_ratio": False}},
    "fineweb_quality.words=whitespace": {"fineweb_quality": {"words": "whitespace"}},
    # the other way: a departure kept on purpose, set to datatrove 0.10.1's (no quotes)
    "fineweb_quality.stop_chars=. ! ? (0.10.1's, kept off)": {"fineweb_quality": {"stop_chars": (".", "!", "?")}},
}


def compare(rows: list[dict]) -> None:
    def line(label: str, result: dict) -> None:
        cells = " ".join(f"{100 * result['per_filter'][n]:7.2f}" for n in FILTERS)
        print(f"  {label:48s} {cells} {100 * result['chain']:7.2f} {100 * result['c4_text']:7.2f}")

    print(f"agreement with datatrove 0.10.1 on {len(rows)} texts (%): "
          + " ".join(n.split("_")[0][:6] + "." + n.split("_")[1][:4] for n in FILTERS) + " chain c4-text")
    line("fineweb preset", agreement(rows, preset_filters()))
    for label, overrides in ABLATIONS.items():
        line("  with " + label, agreement(rows, preset_filters(**overrides)))
    defaults = {name: {} for name in FILTERS}
    from webrefine.pipeline.config import stage_class

    default_filters = {name: stage_class(name)() for name in FILTERS}
    default_filters["c4_quality"] = stage_class("c4_quality")(**defaults["c4_quality"])
    line("default semantics (the preset before issue 18)", agreement(rows, default_filters))
    line("default semantics, no terminal-punct rule", agreement(rows, {
        **default_filters, "c4_quality": stage_class("c4_quality")(filter_no_terminal_punct=False)}))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("texts", "decisions", "compare"))
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
    elif args.step == "compare":
        compare(read_fixture(args.fixture))
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
