"""The report page: header, funnels, the stage table and one what-if section per filter stage.

Every number is rendered server-side (the page reads fine without JS) and carried in data-*
attributes, so tests compare the DOM with stats.json; report.js only recomputes the what-if
readouts when a slider moves. Everything from the web (URLs, texts) is escaped.
"""
from __future__ import annotations

import datetime
import json
import os
from html import escape
from typing import Any, Mapping

from webrefine.pipeline.report import whatif
from webrefine.filters.stage import Rule
from webrefine.pipeline.report.view import ReportView, StageView, build_view, ratio
from webrefine.pipeline.report.sections import (
    dedup_section, errors_section, fixed_rules_html, line_rules_html, overlap_html, row_reason, samples_section,
)
from webrefine.pipeline.report.svg import hist_svg, whatif_svg

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def n(x: int) -> str:
    return f"{x:,}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x >= 0.001 or x == 0 else f"{100 * x:.2f}%"


def _asset(name: str) -> str:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        return fh.read()


def render_report(stats: Mapping[str, Any]) -> str:
    """stats.json → one self-contained HTML page (inline CSS, JS and SVG; works offline)."""
    view = build_view(stats)
    rows = view.rows
    data: dict[str, Any] = {"rules": {}}
    stage_html = [_stage_section(view, sv, data) for sv in view.stages]
    nav = [("run", "Run"), ("funnel", "Funnel"), ("stages", "Stages"), ("whatif", "What-if"),
           ("dedup", "Dedup"), ("samples", "Samples"), ("errors", "Errors")]
    title = f"webrefine report · {stats.get('config_name', '')}"
    body = [
        _top(view), _run(stats), _funnel(view), _stage_table(rows),
        '<h2 id="whatif">What-if: each rule at other thresholds</h2>'
        '<p class="sub">Bars: documents entering the stage per signal value (red: they fail the configured '
        'threshold). Lines: share of the stage\'s documents <span style="color:var(--drop)">(solid)</span> and '
        'characters <span style="color:var(--chars)">(dashed)</span> the rule alone would remove with its '
        'threshold at x. Move a slider to try a value: no re-run needed.</p>',
        *stage_html,
        dedup_section(view), samples_section(view), errors_section(stats),
        f'<footer>webrefine {escape(str(stats.get("versions", {}).get("webrefine", "")))} · stats schema '
        f'{escape(str(stats.get("schema_version", "")))} · generated from stats.json; every count here is '
        f'in that file.</footer>',
    ]
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><style>{_asset("report.css")}</style></head><body>'
        f'<nav><b>webrefine report</b>{"".join(f"<a href=#{a}>{t}</a>" for a, t in nav)}</nav>'
        f'<main>{"".join(body)}</main>'
        f'<script type="application/json" id="wr-data">{blob}</script>'
        f'<script>{_asset("report.js")}</script></body></html>\n'
    )


def _duration(stats: Mapping[str, Any]) -> str:
    try:
        a = datetime.datetime.fromisoformat(stats["started"])
        b = datetime.datetime.fromisoformat(stats["finished"])
    except (KeyError, TypeError, ValueError):
        return "?"
    s = int((b - a).total_seconds())
    return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def _top(view: ReportView) -> str:
    stats, rows = view.stats, view.rows
    units, out = view.units, stats.get("output", {})
    inp = stats.get("input", {})
    base = view.base
    worst = max(rows, key=lambda r: r["dropped"], default=None)
    errors = sum(stats.get("errors", {}).values()) + sum(stats.get("file_errors", {}).values())
    cards = [
        ("Input", n(units), f'{"responses" if "responses" in inp else "rows"} · {n(inp.get("files", 0))} files',
         "input"),
        ("Kept", n(out.get("documents", 0)), f"{pct(ratio(out.get('documents', 0), units))} of input", "kept"),
        ("Text kept", f"{out.get('chars', 0) / 1e6:.2f}M chars",
         f"{pct(ratio(out.get('chars', 0), base))} of {'extracted' if any(r['extracts'] for r in rows) else 'input'} text",
         "chars"),
        ("Largest cut", escape(worst["name"]) if worst else "-",
         f"{n(worst['dropped'])} docs · {pct(worst['dropped_of_original'])} of input" if worst else "", "worst"),
        ("Errors", n(errors), f"duration {_duration(stats)}", "errors"),
    ]
    html = [f'<h1>{escape(str(stats.get("config_name", "run")))} <span class="sub">'
            f'config {escape(str(stats.get("config_hash", "")))}</span></h1>'
            f'<div class="sub">{escape(str(stats.get("started", "")))} → {escape(str(stats.get("finished", "")))}'
            f' · {escape(str(stats.get("runner", "")))}</div>',
            '<div class="cards">']
    for label, big, sub, key in cards:
        html.append(f'<div class="card" data-card="{key}"><div class="lbl">{label}</div>'
                    f'<div class="big">{big}</div><div class="sub small">{escape(sub)}</div></div>')
    html.append("</div>")
    for w in stats.get("merge_warnings", []):
        html.append(f'<div class="warn">{escape(w)}</div>')
    return "".join(html)


def _run(stats: Mapping[str, Any]) -> str:
    versions = stats.get("versions", {})
    model = stats.get("language_model") or {}
    items = [("pipeline (webrefine)", versions.get("webrefine")), ("trafilatura", versions.get("trafilatura")),
             ("language model sha256", model.get("sha256")), ("language model", model.get("path")),
             ("config", f'{stats.get("config_name", "")} ({stats.get("config_hash", "")})'),
             ("runner", stats.get("runner")), ("input format", stats.get("input_format")),
             ("started", stats.get("started")), ("finished", stats.get("finished")),
             ("duration", _duration(stats))]
    items += [(k, v) for k, v in versions.items() if k not in ("webrefine", "trafilatura")]
    # Header fields added later (a MinHash fingerprint, dumps): shown as they are.
    items += [(k, v if isinstance(v, (str, int, float)) else json.dumps(v, ensure_ascii=False)[:300])
              for k, v in stats.items() if k not in _SHOWN]
    resume = stats.get("resume") or {}
    if resume.get("files_resumed"):
        items.append(("resumed", f'{resume["files_resumed"]:,} input files done by an interrupted run, '
                                 f'{resume.get("files_processed", 0):,} processed by this one'))
    kv = "".join(f"<dt>{escape(k)}</dt><dd class=mono>{escape(str(v if v is not None else '-'))}</dd>"
                 for k, v in items)
    files = stats.get("input_files", [])
    total = stats.get("input_files_total", len(files))
    more = f" (first {len(files):,} listed)" if total > len(files) else ""
    html = [f'<h2 id="run">Run</h2><dl class="kv" id="run-header">{kv}</dl>', _timings(stats),
            f'<details><summary>Input files: {n(total)}{more}</summary><pre class="config">'
            f'{escape(chr(10).join(files))}</pre></details>',
            f'<details><summary>Resolved config</summary><pre class="config">'
            f'{escape(json.dumps(stats.get("config", {}), indent=2, ensure_ascii=False))}</pre></details>']
    merged = stats.get("merged_from")
    if merged:
        html.append(f'<h3>Merged from {len(merged)} runs</h3><table class="full" id="merged-from"><tr><th>source</th>'
                    '<th>config</th><th>started</th><th>finished</th><th class=n>files</th><th class=n>input</th>'
                    '<th class=n>kept</th></tr>')
        for m in merged:
            html.append(f'<tr><td class=mono>{escape(str(m["source"]))}</td><td class=mono>{escape(str(m["config_hash"]))}'
                        f'</td><td>{escape(str(m["started"]))}</td><td>{escape(str(m["finished"]))}</td>'
                        f'<td class=n>{n(m["input_files_total"] or 0)}</td><td class=n>{n(m["units"])}</td>'
                        f'<td class=n>{n(m["documents"])}</td></tr>')
        html.append("</table>")
    return "".join(html)


def _timings(stats: Mapping[str, Any]) -> str:
    """Seconds per stage (stats.json's "timings", summed over workers), folded away: where the run's
    time went, not what it decided."""
    timings = stats.get("timings") or {}
    if not timings:
        return ""
    rows = []
    for name, t in timings.items():
        if "wall_s" in t:
            rows.append(f'<tr><td class=mono>{escape(name)}</td><td class=n>{t["wall_s"]:,.2f}</td>'
                        f'<td class=n>{t.get("cpu_s", 0):,.2f}</td><td class=n>-</td></tr>')
        else:
            rows.append(f'<tr><td class=mono>{escape(name)}</td><td class=n>-</td><td class=n>-</td>'
                        f'<td class=n>{t.get("runner_s", 0):,.2f}</td></tr>')
    return ('<details id="timings"><summary>Time per stage</summary><table class="full"><tr><th>stage</th>'
            '<th class=n>wall s (worker)</th><th class=n>CPU s (worker thread)</th><th class=n>runner s</th></tr>'
            + "".join(rows) + '</table><p class="small">Summed over workers. Per-document stages: wall and CPU '
            'seconds around their calls (extraction with helper processes: the wait for them). Dedup stages: the '
            'seconds the runner attributes to their steps, where it reports them (README, stats.json).</p></details>')


_SHOWN = {"schema_version", "config_name", "config_hash", "config", "versions", "runner", "input_format",
          "input_files", "input_files_total", "started", "finished", "language_model", "input", "stages",
          "output", "errors", "file_errors", "error_samples", "counters", "histograms", "top", "samples",
          "sample_keys", "top_keys", "merged_from", "merge_warnings", "timings", "resume", "dedup_against"}


def _frow(name: str, kept: float, dropped: float, nums: str, chars: bool = False) -> str:
    kept, dropped = max(0.0, min(1.0, kept)), max(0.0, min(1.0 - max(0.0, min(1.0, kept)), dropped))
    return (f'<div class="frow"><div class="name" title="{escape(name)}">{escape(name)}</div>'
            f'<div class="track{" chars" if chars else ""}"><div class="k" style="width:{100 * kept:.2f}%"></div>'
            f'<div class="d" style="width:{100 * dropped:.2f}%"></div></div><div class="nums">{nums}</div></div>')


def _funnel(view: ReportView) -> str:
    stats, rows, units = view.stats, view.rows, view.units
    docs = [_frow(r["name"], ratio(r["out"], units), ratio(r["dropped"], units),
                  f'{n(r["out"])} <span class=muted>(−{n(r["dropped"])}, {pct(r["drop_rate"])})</span>')
            for r in rows]
    base, html = view.base, view.html
    chars = []
    for r in rows:
        if r["name"] in html or not r["chars_in"]:
            continue
        if r["extracts"]:  # HTML in, text out: the text is where the bars start
            chars.append(_frow("extracted text", 1.0, 0.0, f'{r["chars_out"] / 1e6:.2f}M', chars=True))
            continue
        cut = r["chars_in"] - r["chars_out"]
        chars.append(_frow(r["name"], ratio(r["chars_out"], base), ratio(cut, base),
                           f'{r["chars_out"] / 1e6:.2f}M <span class=muted>(−{pct(ratio(cut, r["chars_in"]))})</span>',
                           chars=True))
    dedup = [r for r in rows if r["dedup"] and not r["chars_in"]]
    last = next((r for r in reversed(rows) if r["chars_in"] and not r["dedup"]), None)
    if dedup and last:  # dedup stages count no characters: show them together, down to the output
        cut = last["chars_out"] - stats.get("output", {}).get("chars", 0)
        label = "dedup (all)" if len(dedup) > 1 else dedup[0]["name"]
        chars.append(_frow(label, ratio(stats.get("output", {}).get("chars", 0), base), ratio(cut, base),
                           f'{stats.get("output", {}).get("chars", 0) / 1e6:.2f}M <span class=muted>'
                           f'(−{pct(ratio(cut, last["chars_out"]))})</span>', chars=True))
    html_note = ""
    if html:
        read = next((r for r in rows if r["extracts"]), None)
        if read:
            html_note = (f'<p class="small muted">Before extraction the stages carry HTML: {read["chars_in"] / 1e6:.1f}M '
                         f'HTML characters entered {escape(read["name"])} and {read["chars_out"] / 1e6:.2f}M characters of text came '
                         f'out ({pct(ratio(read["chars_out"], read["chars_in"]))}); the bars below start from that text.</p>')
    return (f'<h2 id="funnel">Funnel</h2><div class="funnels">'
            f'<div class="funnel" id="funnel-docs"><h3>Documents <span class="sub small">bar = share of the '
            f'{n(units)} input {"responses" if "responses" in stats.get("input", {}) else "rows"}; '
            f'red = dropped by the stage</span></h3>{"".join(docs)}</div>'
            f'<div class="funnel" id="funnel-chars"><h3>Characters of text <span class="sub small">bar = share of '
            f'{base / 1e6:.2f}M; red = removed (drops and line edits)</span></h3>{html_note}{"".join(chars)}</div>'
            f'{_token_funnel(view)}</div>')


def _token_funnel(view: ReportView) -> str:
    """Tokens of text (output.tokenizer) through the text stages: how corpora state their size."""
    rows = view.rows
    base = next((r["tokens_out"] for r in rows if r["extracts"]), 0) or next(
        (r["tokens_in"] for r in rows if r["tokens_in"]), 0)
    if not base:
        return ""  # stats from before token counts, or no text
    bars = []
    for r in rows:
        if r["extracts"]:
            bars.append(_frow("extracted text", 1.0, 0.0, f'{r["tokens_out"] / 1e6:.2f}M', chars=True))
        elif r["tokens_in"]:
            cut = r["tokens_in"] - r["tokens_out"]
            bars.append(_frow(r["name"], ratio(r["tokens_out"], base), ratio(cut, base),
                              f'{r["tokens_out"] / 1e6:.2f}M <span class=muted>(−{pct(ratio(cut, r["tokens_in"]))})'
                              f'</span>', chars=True))
    tokenizer = escape(str(view.stats.get("config", {}).get("output", {}).get("tokenizer", "")))
    return (f'<div class="funnel" id="funnel-tokens"><h3>Tokens of text <span class="sub small">{tokenizer} tokens; '
            f'bar = share of {base / 1e6:.2f}M; red = removed (drops, line edits and cut spans)</span></h3>'
            f'{"".join(bars)}</div>')


def _stage_table(rows: list[dict[str, Any]]) -> str:
    head = ('<h2 id="stages">Stages and reasons</h2><table class="full" id="stage-table"><tr><th>stage / reason</th>'
            '<th class=n>in</th><th class=n>out</th><th class=n>dropped</th><th class=n>% of stage input</th>'
            '<th class=n>% of original</th><th class=n>kept % of original</th><th class=n>chars in</th>'
            '<th class=n>chars out</th><th class=n>chars removed</th></tr>')
    body = []
    for r in rows:
        cin = "html" if r["chars_in_kind"] == "html" else ""
        html_out = " <span class=muted>html</span>" if r["chars_kind"] == "html" else ""
        removed = ratio(r["chars_in"] - r["chars_out"], r["chars_in"]) if r["chars_in"] else None
        body.append(
            f'<tr class="stage" id="row-{escape(r["name"])}" data-stage="{escape(r["name"])}" data-in="{r["in"]}" '
            f'data-out="{r["out"]}" data-dropped="{r["dropped"]}" data-chars-in="{r["chars_in"]}" '
            f'data-chars-out="{r["chars_out"]}"><td>{escape(r["name"])}</td><td class="n c-in">{n(r["in"])}</td>'
            f'<td class="n c-out">{n(r["out"])}</td><td class="n c-dropped">{n(r["dropped"])}</td>'
            f'<td class=n>{pct(r["drop_rate"])}</td><td class=n>{pct(r["dropped_of_original"])}</td>'
            f'<td class=n>{pct(r["kept_of_original"])}</td>'
            f'<td class=n title="{cin}">{n(r["chars_in"]) if r["chars_in"] else "–"}{" <span class=muted>html</span>" if cin and r["chars_in"] else ""}</td>'
            f'<td class=n>{n(r["chars_out"]) if r["chars_in"] or r["chars_out"] else "–"}{html_out}</td>'
            f'<td class=n>{pct(removed) if removed is not None else "–"}</td></tr>')
        for x in r["reasons"]:
            body.append(
                f'<tr class="reason" data-stage="{escape(r["name"])}" data-reason="{escape(x["reason"])}" '
                f'data-count="{x["n"]}"><td>{escape(x["reason"])}</td><td></td><td></td>'
                f'<td class="n c-count">{n(x["n"])}</td><td class=n>{pct(x["of_input"])}</td>'
                f'<td class=n>{pct(x["of_original"])}</td><td colspan=3></td>{_reason_chars(r, x)}</tr>')
    return head + "".join(body) + "</table>"


def _reason_chars(row: dict[str, Any], reason: dict[str, Any]) -> str:
    """The reason's dropped characters and their share of the stage's characters in."""
    if reason.get("chars") is None:
        return "<td class=n>–</td>"
    share = f' ({pct(ratio(reason["chars"], row["chars_in"]))})' if row["chars_in"] else ""
    kind = " <span class=muted>html</span>" if row["chars_in_kind"] == "html" else ""
    return f'<td class="n c-chars" data-chars="{reason["chars"]}">{n(reason["chars"])}{kind}{share}</td>'


def _stage_section(view: ReportView, sv: StageView, data: dict[str, Any]) -> str:
    name, row, ov = sv.name, sv.row, sv.overlaps
    cards = [_whatif_card(row, rule, w, test, ov, data) for rule, w, test in sv.curves]
    for h, values, counts in sv.histograms:
        cards.append(f'<div class="card"><div class="ctitle">{escape(h)}</div><div class="csub">documents per value '
                     f'(no rule)</div>{hist_svg(h, values, counts, whatif.log_scale(values))}</div>')
    html = [f'<h3 id="stage-{escape(name)}">{escape(name)} <span class="sub small">{n(row["in"])} in → {n(row["out"])} '
            f'out · dropped {n(row["dropped"])} ({pct(row["drop_rate"])} of its input)</span></h3>']
    if sv.off:
        html.append(f'<p class="small muted">Rules switched off in this config: {escape(", ".join(sv.off))}</p>')
    if sv.fixed:
        html.append(fixed_rules_html(row, sv.fixed, ov))
    html.append(f'<div class="grid3">{"".join(cards)}</div>')
    if ov.get("combos"):
        html.append(overlap_html(name, row, ov))
    if name == "line_corrections":
        html.append(line_rules_html(view))
    return f'<section class="stage-detail" data-stage="{escape(name)}">{"".join(html)}</section>'


def _whatif_card(row, rule: Rule, w: dict[str, Any], fails_at, ov, data) -> str:
    svg, geom = whatif_svg(w, fails_at)
    data["rules"][rule.key] = {k: w[k] for k in ("values", "docs", "chars", "direction", "op", "threshold",
                                                 "zero_exempt", "log", "total_docs", "total_chars")}
    data["rules"][rule.key]["geom"] = geom
    t, docs, chars = w["threshold"], w["removed_docs"], w["removed_chars"]
    read = (f'configured {escape(w["op"])} {escape(whatif.nice(t))}: removes <b>{n(docs)}</b> documents '
            f'({pct(ratio(docs, w["total_docs"]))})')
    if chars is not None:
        read += f' · <b>{n(chars)}</b> chars ({pct(ratio(chars, w["total_chars"]))})'
    field = f'{escape(rule.field)} = {escape(whatif.nice(t))}' if rule.field else f"fixed {escape(whatif.nice(t))}"
    facts = [("dropped for this reason (first failing)", row_reason(row, rule.reason))]
    if ov:
        facts += [("fail it, all rules checked (exact)", ov["any"].get(rule.reason, 0)),
                  ("fail only it (kept if it were off)", ov["only"].get(rule.reason, 0))]
    label = f" ({rule.label})" if rule.label else ""
    return (f'<div class="card whatif" data-key="{escape(rule.key)}" data-stage="{escape(row["name"])}" '
            f'data-reason="{escape(rule.reason)}" data-threshold="{t!r}" data-removed-docs="{docs}" '
            f'data-removed-chars="{chars if chars is not None else ""}">'
            f'<div class="ctitle">{escape(rule.reason.split(".", 1)[1])}{escape(label)}</div>'
            f'<div class="csub">drop when {escape(rule.signal)} {escape(w["op"])} threshold · {field}</div>{svg}'
            f'<input type="range" aria-label="threshold for {escape(rule.key)}"> <button class="reset">reset</button>'
            f'<div class="readout" data-docs="{docs}">{read}</div><table class="facts">'
            + "".join(f'<tr><td>{escape(k)}</td><td class=n>{n(v)}</td></tr>' for k, v in facts)
            + "</table>" + (f'<div class="note">{escape(rule.note)}</div>' if rule.note else "") + "</div>")
