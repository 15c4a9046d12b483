"""The filter stats report: what each stage removed, how much it cost, and was it right.

``render_report(stats)`` turns a stats.json dict into one self-contained HTML page (inline CSS,
JS and SVG; works offline), written as OUT/report.html at the end of every run and by
``webrefine report OUT [OUT2 ...]``, which merges several runs or shards first
(pipeline/report_merge.py) and prints ``summary_table`` on the terminal. The what-if rule
table is pipeline/report_rules.py; the page itself is pipeline/report_html.py.
Plain Python: it reads stats dicts, never Beam objects.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

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
            "chars_in_kind": "html" if st["name"] in html or (st["name"] == "extract" and is_warc) else "text",
            "dedup": st["name"].endswith(DEDUP_SUFFIX),
            "reasons": [{"reason": r, "n": n, "of_input": ratio(n, n_in), "of_original": ratio(n, units),
                         "chars": st.get("dropped_chars", {}).get(r)}  # None in stats from before it
                        for r, n in reasons],
        })
    return rows


def html_stages(stats: Mapping[str, Any]) -> set[str]:
    """Stages whose characters are HTML (WARC input, up to extraction), not extracted text."""
    if stats.get("input_format", "warc") != "warc":
        return set()
    names = [s["name"] for s in stats.get("stages", [])]
    if "extract" not in names:
        return set(names)
    return set(names[: names.index("extract")])


def text_baseline(stats: Mapping[str, Any]) -> int:
    """Characters of text entering the text stages: extraction's output, or the input rows'."""
    for st in stats.get("stages", []):
        if st["name"] == "extract":
            return st.get("chars_out", 0)
    html = html_stages(stats)
    for st in stats.get("stages", []):
        if st["name"] not in html and st.get("chars_in"):
            return st["chars_in"]
    return 0


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x >= 0.001 or x == 0 else f"{100 * x:.2f}%"


def summary_table(stats: Mapping[str, Any], width: int = 100) -> str:
    """The terminal summary: stages, kept, dropped by reason, rates."""
    units = original_units(stats)
    inp = stats.get("input", {})
    kind = "responses" if "responses" in inp else "rows"
    merged = stats.get("merged_from")
    head = (f"config {stats.get('config_name', '?')} ({stats.get('config_hash', '?')}), "
            f"{inp.get('files', 0):,} files, {units:,} {kind}")
    if merged:
        head += f", merged from {len(merged)} runs"
    lines = [head, f"{'stage / reason':34s} {'in':>10s} {'out':>10s} {'dropped':>10s} "
                   f"{'% of in':>8s} {'% of orig':>9s} {'kept %':>7s}"]
    for row in stage_rows(stats):
        lines.append(f"{row['name']:34s} {row['in']:>10,} {row['out']:>10,} {row['dropped']:>10,} "
                     f"{_pct(row['drop_rate']):>8s} {_pct(row['dropped_of_original']):>9s} "
                     f"{_pct(row['kept_of_original']):>7s}")
        for r in row["reasons"]:
            name = "  " + (r["reason"] if len(r["reason"]) <= 32 else r["reason"][:31] + "…")
            lines.append(f"{name:34s} {'':>10s} {'':>10s} {r['n']:>10,} {_pct(r['of_input']):>8s} "
                         f"{_pct(r['of_original']):>9s}")
    out = stats.get("output", {})
    base = text_baseline(stats)
    chars = f", {out.get('chars', 0):,} chars ({_pct(ratio(out.get('chars', 0), base))} of extracted text)" if base else ""
    lines.append(f"output: {out.get('documents', 0):,} documents ({_pct(ratio(out.get('documents', 0), units))} "
                 f"of input){chars}")
    errors = sum(stats.get("errors", {}).values())
    file_errors = sum(stats.get("file_errors", {}).values())
    if errors or file_errors:
        lines.append(f"errors: {errors:,} records, {file_errors:,} file problems: "
                     f"{dict(stats.get('errors', {}))} {dict(stats.get('file_errors', {}))}")
    return "\n".join(line[:width] if len(line) > width else line for line in lines)


def render_report(stats: Mapping[str, Any]) -> str:
    from webrefine.pipeline.report_html import render

    return render(stats)


def report_command(outs: Sequence[str], output: str | None, stats_output: str | None,
                   write_text=None) -> int:
    """``webrefine report``: load, merge, print the summary, write the page. Exit status 0, or 2."""
    from webrefine.pipeline.report_merge import load_stats, merge_stats

    if len(outs) > 1 and not output:
        print("webrefine: error: several runs need --output PATH for the merged report", file=sys.stderr)
        return 2
    runs = []
    for out in outs:
        try:
            runs.append(load_stats(out))
        except (OSError, ValueError) as exc:
            print(f"webrefine: error: cannot read the stats of {out}: {exc}", file=sys.stderr)
            return 2
    stats = merge_stats(runs, list(outs))
    write = write_text or _write_local
    if stats_output:
        import json

        write(stats_output, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    first = outs[0].rstrip("/")
    path = output or (first.rsplit("/", 1)[0] if first.endswith(".json") and "/" in first else
                      "." if first.endswith(".json") else first) + "/report.html"
    write(path, render_report(stats))
    print(summary_table(stats))
    print(f"report: {path}")
    return 0


def _write_local(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
