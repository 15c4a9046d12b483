"""What the report shows, computed from stats.json alone: per stage the documents and
characters in and out and the drops by reason, as rows every section renders from."""
from __future__ import annotations

from typing import Any, Mapping

DEDUP_SUFFIX = "_dedup"


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def original_units(stats: Mapping[str, Any]) -> int:
    """What every share "of the original" divides by: WARC responses, or text rows."""
    inp = stats.get("input", {})
    return int(inp.get("responses", inp.get("rows", 0)))


def stage_rows(stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per stage, in run order: documents in/out/dropped with their shares, characters, and
    per reason the count, its share of the stage's input and of the original input."""
    units = original_units(stats)
    html = html_stages(stats)
    is_warc = stats.get("input_format", "warc") == "warc"
    extracting = extraction(stats)
    rows = []
    for st in stats.get("stages", []):
        dropped = sum(st.get("dropped", {}).values())
        n_in = st.get("in", 0)
        reasons = sorted(st.get("dropped", {}).items(), key=lambda rn: (-rn[1], rn[0]))
        rows.append({
            "name": st["name"], "in": n_in, "out": st.get("out", 0), "dropped": dropped,
            "drop_rate": ratio(dropped, n_in), "dropped_of_original": ratio(dropped, units),
            "kept_of_original": ratio(st.get("out", 0), units),
            "chars_in": st.get("chars_in", 0), "chars_out": st.get("chars_out", 0),
            "chars_kind": "html" if st["name"] in html else "text",  # of chars_out
            "chars_in_kind": "html" if st["name"] in html or (st["name"] == extracting and is_warc) else "text",
            "extracts": st["name"] == extracting,  # HTML in, text out
            "dedup": st["name"].endswith(DEDUP_SUFFIX),
            "reasons": [{"reason": r, "n": n, "of_input": ratio(n, n_in), "of_original": ratio(n, units),
                         "chars": st.get("dropped_chars", {}).get(r)}  # None in stats from before it
                        for r, n in reasons],
        })
    return rows


def declared(stage: str) -> type | None:
    """The stage's class in this version's stage table (its rules, what it reads), or None."""
    from webrefine.pipeline.config import ConfigError, stage_class

    try:
        return stage_class(stage)
    except ConfigError:  # a stage this version does not know
        return None


def extraction(stats: Mapping[str, Any]) -> str | None:
    """The stage that turned HTML into text (one that reads "html"), if the run had one."""
    for st in stats.get("stages", []):
        cls = declared(st["name"])
        if cls is not None and cls.input == "html":
            return st["name"]
    return None


def html_stages(stats: Mapping[str, Any]) -> set[str]:
    """Stages whose characters are HTML (WARC input, up to extraction), not extracted text."""
    if stats.get("input_format", "warc") != "warc":
        return set()
    names = [s["name"] for s in stats.get("stages", [])]
    extracting = extraction(stats)
    if extracting is None:
        return set(names)
    return set(names[: names.index(extracting)])


def text_baseline(stats: Mapping[str, Any]) -> int:
    """Characters of text entering the text stages: extraction's output, or the input rows'."""
    extracting = extraction(stats)
    for st in stats.get("stages", []):
        if st["name"] == extracting:
            return st.get("chars_out", 0)
    html = html_stages(stats)
    for st in stats.get("stages", []):
        if st["name"] not in html and st.get("chars_in"):
            return st["chars_in"]
    return 0
