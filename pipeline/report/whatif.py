"""The report's what-if analysis: each rule a stage declares (``Stage.rules``, the same
declaration its ``failing()`` reads), evaluated on the histograms of stats.json.

Thresholds come from stats.json alone (the run's resolved config, every parameter written
out), never from the installed code, so an old stats.json renders with the thresholds it
ran with. Histograms are over the documents *entering* a stage, so a curve answers: "with
this threshold, how many of the documents this stage saw would this rule alone remove?"
Values are rounded to three significant digits in stats.json, so the curve is exact except
for values within rounding of the threshold; the exact count at the configured threshold is
in the ``fails`` counters.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from webrefine.filters.stage import DIRECTIONS, Rule


def declared(stage: str) -> type | None:
    """The stage's class in this version's stage table (its rules, what it reads), or None."""
    from webrefine.pipeline.config import ConfigError, stage_class

    try:
        return stage_class(stage)
    except ConfigError:  # a stage this version does not know
        return None


def rules_for(stage: str) -> tuple[Rule, ...]:
    """The rules ``stage`` declares, in its check order."""
    cls = declared(stage)
    return cls.rules if cls is not None else ()


def counts_failures(stage: str) -> bool:
    """Whether the run counted every rule each document failed (``<stage>.fails.*``)."""
    cls = declared(stage)
    return bool(cls is not None and cls.decides_by_rules)


def stage_params(stats: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The stage's parameters as the run resolved them (stats["config"])."""
    for entry in (stats.get("config") or {}).get("stages", []):
        name, given = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        if name == stage:
            return dict(given or {})
    return {}


def threshold(rule: Rule, params: Mapping[str, Any]) -> float | None:
    return rule.threshold(params)


def enabled(rule: Rule, params: Mapping[str, Any]) -> bool:
    return rule.enabled(params)


def fails(rule: Rule, value: float, t: float, params: Mapping[str, Any] | None = None) -> bool:
    """Whether ``value`` fails ``rule`` at threshold ``t`` (the filter's own comparison)."""
    return rule.fails(value, t, params)


def failing_rules(stage: str, signals: Mapping[str, float], params: Mapping[str, Any]) -> list[str]:
    """The reasons a sampled document's signals fail (for highlighting), in check order."""
    out = []
    for rule in rules_for(stage):
        t = rule.threshold(params)
        if t is not None and rule.enabled(params) and rule.signal in signals and \
                rule.fails(float(signals[rule.signal]), t, params):
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


def curve(stats: Mapping[str, Any], rule: Rule, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """One rule's curve data: the signal's histogram (documents and characters per value)
    and what the rule removes at the configured threshold. None: no histogram in the stats."""
    name = f"{rule.stage}.{rule.signal}"
    values, docs = histogram(stats, name)
    if not values:
        return None
    cvalues, chars = histogram(stats, name + "#chars")
    if cvalues != values:  # older stats without characters per value
        chars = []
    t = rule.threshold(params)
    if t is None:  # a stats.json without this parameter: no threshold to draw
        return None
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
