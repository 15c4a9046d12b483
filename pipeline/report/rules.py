"""The one table the report's what-if analysis reads: drop rule → (signal, direction, config field).

Each filter's ``failing(signals)`` says which rules a document fails; this table says the same
thing in a form the report can evaluate on a histogram: the signal it compares, how (``min``:
fails when value < threshold, ``min_le``: <=, ``max``: >, ``max_ge``: >=), and the config field
holding the threshold (or a fixed one). tests/pipeline/report/test_report.py checks every entry against
the filter classes themselves, just below, at and above each threshold.

Histograms are over the documents *entering* a stage, so a curve answers: "with this threshold,
how many of the documents this stage saw would this rule alone remove?" Values are rounded to
three significant digits in stats.json, so the curve is exact except for values within rounding
of the threshold; the exact count at the configured threshold is in the ``fails`` counters.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

DIRECTIONS = {"min": "<", "min_le": "≤", "max": ">", "max_ge": "≥"}


@dataclass(frozen=True)
class Rule:
    reason: str  # the drop reason, "<stage>.<rule>"
    signal: str  # the signal compared (unprefixed: histograms are "<stage>.<signal>")
    direction: str  # a key of DIRECTIONS: how a failing value compares with the threshold
    field: str | None  # the config field holding the threshold; None: ``fixed``
    fixed: float = 0.0
    enabled_by: str | None = None  # a bool config field that must be true for the rule to apply
    disabled_by: str | None = None  # a bool config field that turns the rule off
    zero_exempt_by: str | None = None  # a bool config field: a value of exactly 0 passes
    label: str = ""  # tells apart two rules of one reason (a range)
    note: str = ""

    @property
    def stage(self) -> str:
        return self.reason.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.reason + (f"#{self.label}" if self.label else "")


def _r(reason: str, signal: str, direction: str, field: str | None, **kw: Any) -> Rule:
    return Rule(reason, signal, direction, field, **kw)


_REP = ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac",
        "top_2gram", "top_3gram", "top_4gram", "dup_5gram", "dup_6gram", "dup_7gram",
        "dup_8gram", "dup_9gram", "dup_10gram")
_URL_LISTS = ("domain", "subdomain", "exact", "strict_word", "hard_word")

RULES: tuple[Rule, ...] = (
    *(_r(f"url_filter.{s}", s, "max", None, note="a match in the block lists") for s in _URL_LISTS),
    _r("url_filter.soft_words", "soft_words", "max_ge", "soft_word_threshold"),
    _r("url_filter.hq_source", "hq_source", "max", None, enabled_by="exclude_hq_sources"),
    _r("language.low_score", "score", "min", "min_score",
       note="the histogram holds the top-1 score of every document, other languages included: "
            "the curve is an upper bound"),
    *(_r(f"gopher_repetition.{s}", s, "max", s) for s in _REP),
    _r("gopher_quality.word_count_low", "word_count", "min", "min_words"),
    _r("gopher_quality.word_count_high", "word_count", "max", "max_words"),
    _r("gopher_quality.mean_word_len", "mean_word_len", "min", "min_mean_word_len", label="low"),
    _r("gopher_quality.mean_word_len", "mean_word_len", "max", "max_mean_word_len", label="high"),
    _r("gopher_quality.hash_ratio", "hash_ratio", "max", "max_hash_ratio", disabled_by="combined_symbol_ratio"),
    _r("gopher_quality.ellipsis_ratio", "ellipsis_ratio", "max", "max_ellipsis_ratio",
       disabled_by="combined_symbol_ratio"),
    _r("gopher_quality.symbol_ratio", "symbol_ratio", "max", "max_symbol_ratio", enabled_by="combined_symbol_ratio"),
    _r("gopher_quality.bullet_lines", "bullet_lines_ratio", "max", "max_bullet_lines_ratio"),
    _r("gopher_quality.ellipsis_lines", "ellipsis_lines_ratio", "max", "max_ellipsis_lines_ratio"),
    _r("gopher_quality.alpha_words", "alpha_words_ratio", "min", "min_alpha_words_ratio"),
    _r("gopher_quality.stop_words", "stop_words", "min", "min_stop_words"),
    _r("line_corrections.removed_ratio", "removed_ratio", "max", "max_removed_ratio"),
    _r("line_corrections.empty", "lines_after", "min", None, fixed=1.0, note="no line left"),
    _r("c4_quality.lorem_ipsum", "lorem_ipsum", "max", None, enabled_by="filter_lorem_ipsum"),
    _r("c4_quality.curly_bracket", "curly_bracket", "max", None, enabled_by="filter_curly_bracket"),
    _r("c4_quality.too_few_sentences", "sentences", "min", "min_num_sentences"),
    _r("c4_quality.empty", "lines_kept", "min", None, fixed=1.0, note="no line left"),
    _r("fineweb_quality.line_punct_ratio", "line_punct_ratio", "min_le", "line_punct_thr",
       zero_exempt_by="line_punct_exclude_zero"),
    _r("fineweb_quality.short_line_ratio", "short_line_ratio", "max_ge", "short_line_thr"),
    _r("fineweb_quality.char_dup_ratio", "char_dup_ratio", "max_ge", "char_duplicates_ratio"),
    _r("fineweb_quality.list_ratio", "list_ratio", "max", "new_line_ratio", enabled_by="filter_list_ratio"),
)


def rules_for(stage: str) -> list[Rule]:
    return [r for r in RULES if r.stage == stage]


def stage_params(stats: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The stage's resolved parameters from stats["config"], defaults filled from its class."""
    params: dict[str, Any] = {}
    try:
        from webrefine.pipeline.config import stage_class

        cls = stage_class(stage)
        params = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    except Exception:  # noqa: BLE001 - an unknown stage: the config alone
        pass
    for entry in (stats.get("config") or {}).get("stages", []):
        name, given = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        if name == stage:
            params.update(given or {})
    return params


def threshold(rule: Rule, params: Mapping[str, Any]) -> float:
    return float(params.get(rule.field, rule.fixed)) if rule.field else rule.fixed


def enabled(rule: Rule, params: Mapping[str, Any]) -> bool:
    if rule.enabled_by and not params.get(rule.enabled_by, False):
        return False
    return not (rule.disabled_by and params.get(rule.disabled_by, False))


def fails(rule: Rule, value: float, t: float, params: Mapping[str, Any] | None = None) -> bool:
    """Whether ``value`` fails ``rule`` at threshold ``t`` (the filter's own comparison)."""
    if rule.zero_exempt_by and params and params.get(rule.zero_exempt_by) and value == 0:
        return False
    d = rule.direction
    return value < t if d == "min" else value <= t if d == "min_le" else value > t if d == "max" else value >= t


def failing_rules(stage: str, signals: Mapping[str, float], params: Mapping[str, Any]) -> list[str]:
    """The reasons a sampled document's signals fail (for highlighting), in table order."""
    out = []
    for rule in rules_for(stage):
        if enabled(rule, params) and rule.signal in signals and \
                fails(rule, float(signals[rule.signal]), threshold(rule, params), params):
            if rule.reason not in out:
                out.append(rule.reason)
    return out


def histogram(stats: Mapping[str, Any], name: str) -> tuple[list[float], list[int]]:
    hist = stats.get("histograms", {}).get(name) or {}
    pairs = sorted((float(k), int(v)) for k, v in hist.items())
    return [p[0] for p in pairs], [p[1] for p in pairs]


def removed(values: list[float], counts: list[int], rule: Rule, t: float,
            params: Mapping[str, Any] | None = None) -> int:
    """Documents (or characters, with a #chars histogram) the rule removes at threshold ``t``."""
    return sum(n for v, n in zip(values, counts) if fails(rule, v, t, params))


def whatif(stats: Mapping[str, Any], rule: Rule, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """One rule's curve data: the signal's histogram (documents and characters per value)
    and what the rule removes at the configured threshold. None: no histogram in the stats."""
    name = f"{rule.stage}.{rule.signal}"
    values, docs = histogram(stats, name)
    if not values:
        return None
    cvalues, chars = histogram(stats, name + "#chars")
    if cvalues != values:  # older stats without characters per value
        chars = []
    t = threshold(rule, params)
    return {
        "key": rule.key, "reason": rule.reason, "signal": rule.signal, "direction": rule.direction,
        "op": DIRECTIONS[rule.direction], "field": rule.field, "threshold": t, "label": rule.label,
        "zero_exempt": bool(rule.zero_exempt_by and params.get(rule.zero_exempt_by)),
        "enabled": enabled(rule, params), "note": rule.note,
        "values": values, "docs": docs, "chars": chars,
        "total_docs": sum(docs), "total_chars": sum(chars),
        "removed_docs": removed(values, docs, rule, t, params),
        "removed_chars": removed(values, chars, rule, t, params) if chars else None,
        "log": log_scale(values),
    }


def log_scale(values: list[float]) -> bool:
    """Heavy-tailed counts (word counts, characters) read better on a log axis."""
    if not values or values[0] < 0:
        return False
    return values[-1] > 1000 or (values[-1] > 100 and values[-1] > 20 * max(values[len(values) // 2], 1e-9))


def overlaps(stats: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """From the ``<stage>.fails.<r1>+<r2>`` counters: per rule the documents failing it at all,
    failing only it, and charged to it (its first-failing drops); pairwise co-failures; and
    the combinations, each owned by its first rule (the reason the document was dropped for)."""
    prefix = f"{stage}.fails."
    combos = {tuple(k[len(prefix):].split("+")): n for k, n in stats.get("counters", {}).items()
              if k.startswith(prefix)}
    if not combos:
        return {}
    reasons: list[str] = []
    for combo in sorted(combos, key=lambda c: -combos[c]):
        reasons += [r for r in combo if r not in reasons]
    order = [r.reason for r in rules_for(stage)]
    reasons.sort(key=lambda r: order.index(r) if r in order else len(order))
    any_, only = _zeros(reasons), _zeros(reasons)
    pair = {a: _zeros(reasons) for a in reasons}
    for combo, n in combos.items():
        if len(combo) == 1:
            only[combo[0]] += n
        for a in combo:
            any_[a] += n
            for b in combo:
                pair[a][b] += n
    multi = sum(n for c, n in combos.items() if len(c) > 1)
    return {
        "reasons": reasons, "any": any_, "only": only, "pair": pair, "multi": multi,
        "combos": [{"rules": list(c), "owner": c[0], "docs": n}
                   for c, n in sorted(combos.items(), key=lambda cn: (-cn[1], cn[0]))],
    }


def _zeros(keys: list[str]) -> dict[str, int]:
    return {k: 0 for k in keys}


def nice(value: float) -> str:
    """A threshold or signal value, short."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}" if math.isfinite(value) else str(value)
