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

from scripts.record_fineweb_reference import FILTERS, agreement, preset_filters, read_fixture  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fineweb_reference.jsonl.gz")


@pytest.fixture(scope="module")
def report() -> dict:
    rows = read_fixture(FIXTURE)
    result = agreement(rows, preset_filters("fineweb"))
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


READINGS = {  # the parameters that give datatrove's reading, and their defaults
    "gopher_repetition": {"duplicates": "all", "segments": "stripped", "char_fractions_of": "units",
                          "tokens": "word_chars"},
    "gopher_quality": {"words": "whitespace", "stop_word_count": "occurrences", "lines": "non_empty"},
    "c4_quality": {"sentences": "regex", "recount_after_citations": True, "filter_no_terminal_punct": True,
                   "min_num_sentences": 3, "min_words_per_line": 5},
    "fineweb_quality": {"strip_lines": True, "strict_thresholds": False, "words": "whitespace"},
}


def test_the_fineweb_preset_sets_each_reading_and_refinedweb_keeps_the_defaults():
    from webrefine.pipeline.config import load_config, stage_class

    fineweb = {s.name: s for s in load_config("fineweb").stages}
    refinedweb = {s.name: s for s in load_config("refinedweb").stages}
    for name, defaults in READINGS.items():
        assert {k: getattr(stage_class(name)(), k) for k in defaults} == defaults
        for key, default in defaults.items():
            assert getattr(fineweb[name], key) != default, (name, key)
            if name in refinedweb:
                assert getattr(refinedweb[name], key) == default, (name, key)
