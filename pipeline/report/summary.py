"""``webrefine report``: merge runs, print the terminal summary, write the page.

``webrefine report OUT [OUT2 ...]`` merges several runs or shards first
(``pipeline/stats/merge.py``), prints ``summary_table`` and writes report.html
(``pipeline/report/page.py``). Plain Python: it reads stats dicts, never Beam objects.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping, Sequence

from webrefine.pipeline.report.page import render_report
from webrefine.pipeline.report.view import original_units, ratio, stage_rows, text_baseline

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
    tokens = f", {out['tokens']:,} tokens" if out.get("tokens") else ""
    lines.append(f"output: {out.get('documents', 0):,} documents ({_pct(ratio(out.get('documents', 0), units))} "
                 f"of input){chars}{tokens}")
    errors = sum(stats.get("errors", {}).values())
    file_errors = sum(stats.get("file_errors", {}).values())
    if errors or file_errors:
        lines.append(f"errors: {errors:,} records, {file_errors:,} file problems: "
                     f"{dict(stats.get('errors', {}))} {dict(stats.get('file_errors', {}))}")
    return "\n".join(line[:width] if len(line) > width else line for line in lines)


def report_command(outs: Sequence[str], output: str | None, stats_output: str | None,
                   write_text=None, read_text=None, allow_mixed_configs: bool = False) -> int:
    """``webrefine report``: load, merge, print the summary, write the page. Exit status 0, or 2."""
    from webrefine.pipeline.stats.merge import load_stats, merge_stats

    if len(outs) > 1 and not output:
        print("webrefine: error: several runs need --output PATH for the merged report", file=sys.stderr)
        return 2
    runs = []
    for out in outs:
        try:
            runs.append(load_stats(out, read_text))
        except (OSError, ValueError) as exc:
            print(f"webrefine: error: cannot read the stats of {out}: {exc}", file=sys.stderr)
            return 2
    hashes = {run.get("config_hash") for run in runs}
    if len(hashes) > 1 and not allow_mixed_configs:
        # Counts of different filters added up describe no run; a user asks for that on purpose.
        names = ", ".join(f"{out} ({run.get('config_name')}, {run.get('config_hash')})" for out, run in zip(outs, runs))
        print(f"webrefine: error: these runs used different configs: {names}; pass --allow-mixed-configs to "
              "merge them anyway", file=sys.stderr)
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
