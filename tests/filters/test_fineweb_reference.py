"""The ``fineweb`` preset against datatrove 0.10.1's FineWeb filters, per document, on real texts.

The fixture holds real English texts (cc-sample and the bundled sample, read and extracted by
webrefine; the dedup fixture's English texts) and the decisions datatrove's four filters of
``examples/fineweb.py`` made on them, recorded once by ``scripts/record_fineweb_reference.py``
(datatrove is not a dependency). Each filter is compared on its own: the first three on the
text, fineweb_quality on C4's output (when C4 kept the document, as in the chain).
"""
from __future__ import annotations

import os

import pytest

from webrefine.filters.stage import apply_stage
from webrefine.filters.document import Document
from webrefine.pipeline.config import load_config

from scripts.record_fineweb_reference import FILTERS, read_fixture  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fineweb_reference.jsonl.gz")


def fineweb_filters() -> dict:
    stages = {s.name: s for s in load_config("fineweb").stages}
    return {name: stages[name] for name in FILTERS}


def decisions(filters: dict, text: str) -> tuple[dict[str, bool], str | None]:
    """Each filter's keep/drop on ``text`` (fineweb_quality on C4's output when C4 keeps it),
    and C4's output text."""
    doc = Document(id="x", url="", text=text)
    out = {}
    for name in FILTERS[:3]:
        kept, _ = apply_stage(filters[name], doc)
        out[name] = kept is not None
        if name == "c4_quality":
            c4_text = kept.text if kept is not None else None
    kept, _ = apply_stage(filters["fineweb_quality"], doc.replace(text=c4_text if c4_text is not None else text))
    out["fineweb_quality"] = kept is not None
    return out, c4_text


def agreement(rows: list[dict]) -> dict:
    filters = fineweb_filters()
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


@pytest.fixture(scope="module")
def report() -> dict:
    rows = read_fixture(FIXTURE)
    result = agreement(rows)
    print(f"\nfineweb preset vs datatrove 0.10.1 on {result['n']} English texts:")
    for name, share in result["per_filter"].items():
        print(f"  {name:18s} {100 * share:6.2f}%")
    print(f"  {'chain (keep/drop)':18s} {100 * result['chain']:6.2f}%   identical C4 text: {100 * result['c4_text']:.2f}%")
    for miss in result["misses"]:
        print("  differs:", *miss)
    return result


def test_fixture_is_real_and_recorded():
    rows = read_fixture(FIXTURE)
    assert len(rows) >= 250
    assert all(r["datatrove_version"] == "0.10.1" for r in rows)
    # Both outcomes occur for every filter, so agreement cannot come from always keeping.
    for name in FILTERS:
        outcomes = {r["datatrove"][name]["keep"] for r in rows}
        assert outcomes == {True, False}, name


def test_fineweb_preset_reproduces_datatrove_per_document(report):
    assert report["chain"] >= 0.995
    assert all(share >= 0.99 for share in report["per_filter"].values()), report["per_filter"]
    overall = sum(report["per_filter"].values()) / len(FILTERS)
    assert overall >= 0.995, report["per_filter"]


def test_c4_rewrites_lines_as_datatrove(report):
    assert report["c4_text"] >= 0.995
