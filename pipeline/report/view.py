"""The one view of stats.json the report renders: built once by ``build_view``, then every
section reads it (data flows one way: stats.json → view → sections).

It holds the stage rows (documents and characters in and out, drops by reason), per stage
the rules with their curves, overlaps and thresholds (from stats.json's resolved config),
the series (histograms) and the samples with the rules each one fails."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from webrefine.filters.stage import Rule
from webrefine.pipeline.report import whatif
from webrefine.pipeline.report.whatif import declared

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
            "tokens_in": st.get("tokens_in", 0), "tokens_out": st.get("tokens_out", 0),  # 0 in stats before them
            "chars_cut": st.get("chars_cut"), "tokens_cut": st.get("tokens_cut"),  # None: the stage cuts no spans
            "chars_kind": "html" if st["name"] in html else "text",  # of chars_out
            "chars_in_kind": "html" if st["name"] in html or (st["name"] == extracting and is_warc) else "text",
            "extracts": st["name"] == extracting,  # HTML in, text out
            "dedup": st["name"].endswith(DEDUP_SUFFIX),
            "reasons": [{"reason": r, "n": n, "of_input": ratio(n, n_in), "of_original": ratio(n, units),
                         "chars": st.get("dropped_chars", {}).get(r)}  # None in stats from before it
                        for r, n in reasons],
        })
    return rows


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


@dataclass
class StageView:
    """What the report shows about one stage's rules."""

    name: str
    row: dict[str, Any]
    params: dict[str, Any]  # the stage's parameters as the run resolved them
    curves: list[tuple[Rule, dict[str, Any], Callable[[float], bool]]]  # tunable rules: curve, test
    fixed: list[tuple[Rule, float]]  # rules without a threshold to tune, and their fixed threshold
    off: list[str]  # keys of the rules switched off in this config
    overlaps: dict[str, Any]  # whatif.overlaps; {} when the stage counted no failures
    histograms: list[tuple[str, list[float], list[int]]]  # shown without a rule


@dataclass
class ReportView:
    stats: Mapping[str, Any]
    rows: list[dict[str, Any]]
    units: int  # WARC responses or text rows: what "of the original" divides by
    base: int  # characters of text entering the text stages
    html: set[str]  # stages whose characters are HTML
    series: dict[str, tuple[list[float], list[int]]]  # every histogram, as sorted (values, counts)
    stages: list[StageView]  # per-document stages with something to show, in run order
    dropped_samples: list[dict[str, Any]] = field(default_factory=list)  # name, reason, n, items
    kept_samples: list[tuple[Mapping[str, Any], list[tuple[str, bool]]]] = field(default_factory=list)

    def histogram(self, name: str) -> tuple[list[float], list[int]]:
        return self.series.get(name, ([], []))


KEPT_SIGNALS = ("language.score", "gopher_quality.word_count", "gopher_repetition.dup_5gram",
                "line_corrections.removed_ratio", "minhash_dedup.cluster_size")


def build_view(stats: Mapping[str, Any]) -> ReportView:
    rows = stage_rows(stats)
    view = ReportView(
        stats=stats, rows=rows, units=original_units(stats), base=text_baseline(stats), html=html_stages(stats),
        series={name: whatif.histogram(stats, name) for name in stats.get("histograms", {})},
        stages=[],
    )
    view.stages = [sv for sv in (_stage_view(view, row) for row in rows if not row["dedup"]) if sv is not None]
    _samples(view)
    return view


def _stage_view(view: ReportView, row: dict[str, Any]) -> StageView | None:
    stats, name = view.stats, row["name"]
    rules = whatif.rules_for(name)
    cls = declared(name)
    shown = cls.report_histograms if cls is not None else ()
    extra = [f"{name}.{s}" for s in shown if f"{name}.{s}" in stats.get("histograms", {})]
    if not rules and not extra:
        return None
    params = whatif.stage_params(stats, name)
    # Stages with failing() count every rule a document fails; no counter means none failed.
    ov = whatif.overlaps(stats, name) or ({"any": {}, "only": {}} if whatif.counts_failures(name) else {})
    sv = StageView(name, row, params, [], [], [], ov, [(h, *view.histogram(h)) for h in extra])
    for rule in rules:
        curve = whatif.curve(stats, rule, params)
        if not rule.enabled(params):
            sv.off.append(rule.key)
        elif rule.field is None:  # nothing to tune: a block-list match, an empty document
            sv.fixed.append((rule, rule.fixed))
        elif curve is not None:
            t = curve["threshold"]
            sv.curves.append((rule, curve, lambda v, rule=rule, t=t: rule.fails(v, t, params)))
    return sv


def _samples(view: ReportView) -> None:
    """The samples in the order of the stage table's reasons, each with its chips: the
    thresholds it fails (or, without a rule, what the stage measured)."""
    stats, rows = view.stats, view.rows
    samples = stats.get("samples", {})
    order = [f"dropped.{x['reason']}" for r in rows for x in r["reasons"]]
    counts = {f"dropped.{x['reason']}": x["n"] for r in rows for x in r["reasons"]}
    names = [s for s in order if s in samples] + sorted(s for s in samples if s not in order and s != "kept")
    for name in names:
        reason = name[len("dropped."):]
        view.dropped_samples.append({"name": name, "reason": reason, "n": counts.get(name, 0),
                                     "items": [(item, _failing_chips(stats, reason, item)) for item in samples[name]]})
    for item in samples.get("kept", []):
        chips = [(f"{k} = {whatif.nice(float(item['signals'][k]))}", False)
                 for k in KEPT_SIGNALS if k in (item.get("signals") or {})]
        view.kept_samples.append((item, chips))


def _failing_chips(stats: Mapping[str, Any], reason: str, item: Mapping[str, Any]) -> list[tuple[str, bool]]:
    stage = reason.split(".", 1)[0]
    params = whatif.stage_params(stats, stage)
    signals = {k: float(v) for k, v in (item.get("signals") or {}).items()}
    chips = []
    for rule in whatif.rules_for(stage):
        t = rule.threshold(params)
        if rule.signal in signals and t is not None and rule.enabled(params):
            if rule.fails(signals[rule.signal], t, params):
                chips.append((f"{rule.signal} = {whatif.nice(signals[rule.signal])} "
                              f"{whatif.DIRECTIONS[rule.direction]} {whatif.nice(t)}", True))
    if not chips:  # rules without a threshold: show what the stage measured
        chips = [(f"{k} = {whatif.nice(v)}", False) for k, v in list(signals.items())[:4]]
    return chips
