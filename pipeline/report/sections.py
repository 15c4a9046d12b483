"""Report sections rendered from the view: rule overlaps, fixed rules, dedup, samples and errors."""
from __future__ import annotations

from html import escape
from typing import Any, Mapping

from webrefine.filters.stage import Rule
from webrefine.pipeline.report import whatif
from webrefine.dedup.earlier import STAGES as EARLIER_STAGES
from webrefine.dedup.substring import SPAN_TEXT_CHARS
from webrefine.pipeline.report.view import ReportView, ratio

TEXT_LINES, LINE_CHARS = 6, 220


def n(x: int) -> str:
    return f"{x:,}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x >= 0.001 or x == 0 else f"{100 * x:.2f}%"


def _short(reason: str) -> str:
    return reason.split(".", 1)[1] if "." in reason else reason


def overlap_html(stage: str, row: dict[str, Any], ov: dict[str, Any]) -> str:
    """Pairwise co-failures and the combinations with the rule each drop was charged to."""
    reasons = [r for r in ov["reasons"] if ov["any"][r]]
    top = max((ov["pair"][a][b] for a in reasons for b in reasons), default=0) or 1
    head = "".join(f'<th class=n title="{escape(b)}">{escape(_short(b))}</th>' for b in reasons)
    cells = []
    for a in reasons:
        tds = "".join(
            f'<td class="heat" data-a="{escape(a)}" data-b="{escape(b)}" '
            f'style="background:rgba(228,87,86,{0.08 + 0.7 * ov["pair"][a][b] / top:.2f})">{n(ov["pair"][a][b])}</td>'
            if ov["pair"][a][b] else '<td class="heat"></td>' for b in reasons)
        cells.append(f'<tr><th>{escape(_short(a))}</th>{tds}</tr>')
    combos = "".join(
        f'<tr data-combo="{escape("+".join(c["rules"]))}" data-docs="{c["docs"]}"><td>'
        f'{" + ".join(escape(_short(r)) for r in c["rules"])}</td><td class=n>{n(c["docs"])}</td>'
        f'<td>{escape(_short(c["owner"]))}</td></tr>' for c in ov["combos"][:15])
    more = f'<p class="small muted">… and {len(ov["combos"]) - 15} rarer combinations.</p>' if len(ov["combos"]) > 15 else ""
    return (f'<div class="overlap" id="overlap-{escape(stage)}"><div style="overflow-x:auto">'
            f'<h3>Overlap <span class="sub small">documents failing both rules (all rules checked); diagonal: '
            f'failing the rule at all. {n(ov["multi"])} of {n(row["dropped"])} dropped documents fail more than '
            f'one rule.</span></h3><table><tr><th></th>{head}</tr>{"".join(cells)}'
            f'</table></div><div><h3>Who owns the drop <span class="sub small">each combination of failed '
            f'rules; the document is counted under its first rule in check order</span></h3>'
            f'<table><tr><th>rules failed</th><th class=n>documents</th><th>dropped as</th></tr>'
            f'{combos}</table>{more}</div></div>')


def row_reason(row: dict[str, Any], reason: str) -> int:
    return next((x["n"] for x in row["reasons"] if x["reason"] == reason), 0)


def fixed_rules_html(row: dict[str, Any], rules: list[tuple[Rule, float]], ov: dict[str, Any]) -> str:
    """Rules without a threshold to tune, in one line each."""
    trs = "".join(
        f'<tr data-reason="{escape(r.reason)}"><td>{escape(_short(r.reason))}</td><td class=mono>{escape(r.signal)} '
        f'{escape(whatif.DIRECTIONS[r.direction])} {escape(whatif.nice(t))}</td>'
        f'<td class=n>{n(row_reason(row, r.reason))}</td>'
        f'<td class=n>{n(ov["any"].get(r.reason, 0) if ov else 0)}</td><td class="small muted">{escape(r.note)}</td></tr>'
        for r, t in rules)
    return ('<table class="full" style="margin-bottom:10px"><tr><th>fixed rule</th><th>drop when</th>'
            '<th class=n>dropped (first failing)</th><th class=n>fail it (all rules checked)</th><th></th></tr>'
            f'{trs}</table>')


def _log2_bins(hist: dict[float, int]) -> list[tuple[str, int, int]]:
    """(label, clusters, documents) for cluster sizes 1, 2, 3-4, 5-8, ..., >= 1024 (docs/rules.md, Report)."""
    edges = [(1, 1), (2, 2)] + [(2 ** i + 1, 2 ** (i + 1)) for i in range(1, 9)] + [(513, 1023), (1024, float("inf"))]
    out = []
    for lo, hi in edges:
        c = sum(v for s, v in hist.items() if lo <= s <= hi)
        d = sum(int(s) * v for s, v in hist.items() if lo <= s <= hi)
        label = str(lo) if lo == hi else (f"≥ {lo}" if hi == float("inf") else f"{lo}–{int(hi)}")
        out.append((label, c, d))
    while out and out[-1][1] == 0 and len(out) > 2:
        out.pop()
    return out


def dedup_section(view: ReportView) -> str:
    stats, rows = view.stats, view.rows
    html = ['<h2 id="dedup">Deduplication</h2>']
    counters = stats.get("counters", {})
    found = False
    for row in rows:
        if not row["dedup"]:
            continue
        found = True
        name = row["name"]
        extra = {k[len(name) + 1:]: v for k, v in counters.items() if k.startswith(name + ".")}
        kv = "".join(f"<dt>{escape(k)}</dt><dd>{n(v)}</dd>" for k, v in extra.items())
        html.append(f'<h3 id="dedup-{escape(name)}">{escape(name)} <span class="sub small">{n(row["in"])} in → '
                    f'{n(row["out"])} out · removed {n(row["dropped"])} ({pct(row["drop_rate"])})</span></h3>')
        if kv:
            html.append(f'<dl class="kv">{kv}</dl>')
        if row.get("chars_cut") is not None:
            html.append(_cut_spans_html(stats, row))
        values, counts = view.histogram(f"{name}.cluster_size")
        if values:
            bins = _log2_bins(dict(zip(values, counts)))
            top = max(d for _, _, d in bins) or 1
            trs = "".join(f'<tr data-size="{escape(lbl)}" data-clusters="{c}"><td>{escape(lbl)}</td><td class=n>{n(c)}</td>'
                          f'<td class=n>{n(d)}</td><td><span class="hbar" style="width:{240 * d / top:.0f}px"></span>'
                          f'</td></tr>' for lbl, c, d in bins)
            html.append('<div class="funnels" style="margin-top:10px"><div><h3>Cluster sizes <span class="sub small">'
                        'one survivor per cluster; size 1 = no near-duplicate</span></h3><table class="full">'
                        '<tr><th>size</th><th class=n>clusters</th><th class=n>documents</th><th></th></tr>'
                        f'{trs}</table></div>')
            tops = stats.get("top", {}).get(f"{name}.largest_clusters", [])
            trs = "".join(f'<tr><td class=n>{n(int(t.get("size", 0)))}</td><td class="doc-url">{_link(t.get("url", ""))}'
                          f'</td></tr>' for t in tops)
            html.append('<div><h3>Largest clusters <span class="sub small">size and the surviving document</span>'
                        f'</h3><table class="full" id="largest-{escape(name)}"><tr><th class=n>size</th><th>url</th>'
                        f'</tr>{trs or "<tr><td colspan=2 class=muted>no cluster above size 1</td></tr>"}</table>'
                        '</div></div>')
    if not found:
        html.append('<p class="muted">No deduplication stage in this config.</p>')
    html.append(_earlier_runs_html(stats, [r["name"] for r in rows if r["name"] in EARLIER_STAGES]))
    return "".join(html)


def _earlier_runs_html(stats: Mapping[str, Any], stages: list[str]) -> str:
    """--dedup-against: per earlier run, how many documents of this run each stage dropped as
    duplicates of that run's kept documents (counters <stage>.matched_earlier.<run_id>; a merged
    report finds runs in the counters that the first run's header does not list)."""
    counters = stats.get("counters", {})
    runs = {r["run_id"]: r for r in stats.get("dedup_against") or []}
    for key in counters:
        stage, sep, run_id = key.partition(".matched_earlier.")
        if sep and run_id not in runs:
            runs[run_id] = {"run_id": run_id, "path": "", "documents": None}
    if not runs:
        return ""
    head = "".join(f"<th class=n>{escape(s)}</th>" for s in stages)
    trs = []
    for run_id, run in runs.items():
        removed = [counters.get(f"{s}.matched_earlier.{run_id}", 0) for s in stages]
        docs = run.get("documents")
        trs.append(f'<tr data-run="{escape(run_id)}"><td class=mono>{escape(run.get("path") or "?")}</td>'
                   f'<td class=mono>{escape(run_id)}</td><td class=n>{"-" if docs is None else n(docs)}</td>'
                   + "".join(f"<td class=n>{n(x)}</td>" for x in removed) + f"<td class=n>{n(sum(removed))}</td></tr>")
    return ('<h3 id="dedup-earlier">Earlier runs <span class="sub small">--dedup-against: documents of this run '
            'dropped as duplicates of what each earlier run kept</span></h3><table class="full" id="earlier-runs">'
            f'<tr><th>earlier run</th><th>run id</th><th class=n>its kept documents</th>{head}<th class=n>removed'
            f'</th></tr>{"".join(trs)}</table>')


def _cut_spans_html(stats: Mapping[str, Any], row: dict[str, Any]) -> str:
    """What a stage that cuts repeated spans (exact_substring_dedup) removed from kept text."""
    name = row["name"]
    # tokens_cut counts the stage's own tokenizer; tokens_in that of output.tokenizer
    tokenizer = whatif.stage_params(stats, name).get("tokenizer", "")
    same = tokenizer == (stats.get("config") or {}).get("output", {}).get("tokenizer", "")
    share = f' ({pct(ratio(row.get("tokens_cut") or 0, row["tokens_in"]))})' if same else ""
    summary = (f'<p id="cut-{escape(name)}">Cut from documents: <b>{n(row["chars_cut"])}</b> characters '
               f'({pct(ratio(row["chars_cut"], row["chars_in"]))} of the stage\'s input) and '
               f'<b>{n(row.get("tokens_cut") or 0)}</b> {escape(str(tokenizer))} tokens{share}'
               f'; documents left too short are dropped above.</p>')
    spans = stats.get("top", {}).get(f"{name}.cut_spans", [])
    trs = "".join(f'<tr><td class=n>{n(int(s.get("occurrences", 0)))}</td><td class=n>{n(int(s.get("chars", 0)))}</td>'
                  f'<td>{escape(str(s.get("text", "")))}</td></tr>' for s in spans)
    return (summary + '<h3>Most repeated cut spans <span class="sub small">occurrences within their part; the '
            f'first {SPAN_TEXT_CHARS} characters</span></h3><table class="full" id="cut-spans-{escape(name)}"><tr>'
            '<th class=n>occurrences</th><th class=n>chars</th><th>span</th></tr>'
            f'{trs or "<tr><td colspan=3 class=muted>nothing was cut</td></tr>"}</table>')


def _link(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return f'<a href="{escape(url)}" rel="noopener noreferrer nofollow" target="_blank">{escape(url)}</a>'
    return f"<span class=mono>{escape(url)}</span>"


def _first_lines(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()][:TEXT_LINES]
    return "\n".join(ln if len(ln) <= LINE_CHARS else ln[:LINE_CHARS] + "…" for ln in lines)


def _doc(item: Mapping[str, Any], chips: list[tuple[str, bool]]) -> str:
    signals = item.get("signals") or {}
    chip_html = "".join(f'<span class="chip{" fail" if bad else ""}">{escape(c)}</span>' for c, bad in chips)
    table = "".join(f"<tr><td>{escape(k)}</td><td class=n>{escape(whatif.nice(float(v)))}</td></tr>"
                    for k, v in signals.items())
    lang = f' · {escape(item["language"])}' if item.get("language") else ""
    text = _first_lines(item.get("text", ""))
    return (f'<div class="doc" data-id="{escape(str(item.get("id", "")))}"><div class="url">{_link(item.get("url", ""))}'
            f'</div><div class="small muted mono">{escape(str(item.get("id", "")))}{lang}</div><div>{chip_html}</div>'
            + (f'<pre class="text">{escape(text)}</pre>' if text else "")
            + (f'<details><summary>all signals ({len(signals)})</summary><table>{table}</table></details>' if signals else "")
            + "</div>")


def samples_section(view: ReportView) -> str:
    stats, rows = view.stats, view.rows
    html = ['<h2 id="samples">Samples <button class="btn" data-toggle="details.samples">Expand all</button></h2>'
            '<p class="sub">Deterministic samples: per reason the documents with the smallest hash of their id '
            '(the same ones on every run, and after merging shards). Red: the thresholds each one fails.</p>']
    for sample in view.dropped_samples:
        name, items = sample["name"], sample["items"]
        docs = "".join(_doc(item, chips) for item, chips in items)
        html.append(f'<details class="samples" data-sample="{escape(name)}" data-shown="{len(items)}">'
                    f'<summary>{escape(sample["reason"])} <span class="muted">— {len(items)} shown of '
                    f'{n(sample["n"])} dropped</span></summary><div class="docs">{docs}</div></details>')
    kept = view.kept_samples
    if kept:
        docs = "".join(_doc(item, chips) for item, chips in kept)
        html.append(f'<details class="samples" data-sample="kept" data-shown="{len(kept)}"><summary>kept '
                    f'<span class="muted">— {len(kept)} shown of {n(stats.get("output", {}).get("documents", 0))} '
                    f'output documents</span></summary><div class="docs">{docs}</div></details>')
    missing = [r["name"] for r in rows if r["dedup"] and r["dropped"]
               and not any(f"dropped.{x['reason']}" in stats.get("samples", {}) for x in r["reasons"])]
    if missing:
        html.append(f'<p class="small muted">No samples recorded for {escape(", ".join(missing))} '
                    '(see rejects/ for the dropped duplicates).</p>')
    return "".join(html)


def errors_section(stats: Mapping[str, Any]) -> str:
    errors, file_errors = stats.get("errors", {}), stats.get("file_errors", {})
    html = ['<h2 id="errors">Errors</h2>']
    if not errors and not file_errors:
        return html[0] + '<p class="muted" id="no-errors">Every input record was read.</p>'
    for title, counts in (("Records that could not be read", errors), ("Files or stretches that could not be read",
                                                                       file_errors)):
        if counts:
            trs = "".join(f'<tr data-error="{escape(k)}" data-count="{v}"><td>{escape(k)}</td><td class=n>{n(v)}</td></tr>'
                          for k, v in counts.items())
            html.append(f"<h3>{title}</h3><table><tr><th>reason</th><th class=n>count</th></tr>{trs}</table>")
    for name, items in stats.get("error_samples", {}).items():
        lines = "\n".join(" · ".join(f"{k}: {v}" for k, v in i.items()) for i in items)
        html.append(f'<details class="samples"><summary>{escape(name)} <span class="muted">— {len(items)} '
                    f'samples</span></summary><pre class="config">{escape(lines)}</pre></details>')
    return "".join(html)


LINE_RULES = ("L1 mostly uppercase", "L2 only digits", "L3 social counter", "L4 one word",
              "L5 prefix pattern", "L6 suffix pattern", "L7 pattern anywhere")


def line_rules_html(view: ReportView) -> str:
    """Lines and words each of L1-L7 removed (sums over the per-document histograms)."""
    rows = []
    for i, label in enumerate(LINE_RULES, start=1):
        lv, lc = view.histogram(f"line_corrections.l{i}_lines")
        wv, wc = view.histogram(f"line_corrections.l{i}_words")
        if not lv:
            return ""
        lines, words = sum(v * c for v, c in zip(lv, lc)), sum(v * c for v, c in zip(wv, wc))
        docs = sum(c for v, c in zip(lv, lc) if v > 0)
        rows.append(f'<tr data-line-rule="L{i}"><td>{escape(label)}</td><td class=n>{n(docs)}</td>'
                    f'<td class=n>{n(round(lines))}</td><td class=n>{n(round(words))}</td></tr>')
    return ('<h3>Line rules <span class="sub small">lines removed (or edited, L5–L7) and words removed, '
            'over the documents entering the stage (sums of rounded per-document values)</span></h3>'
            '<table><tr><th>rule</th><th class=n>documents touched</th><th class=n>lines</th>'
            f'<th class=n>words</th></tr>{"".join(rows)}</table>')
