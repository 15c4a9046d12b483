"""Inline SVG charts for the report: a signal's histogram with its rule's what-if curves.

One chart per rule: bars = documents entering the stage per signal value (red where the
configured threshold fails them), lines = share of those documents (solid) and of their
characters (dashed) the rule would remove with the threshold at each x, a dark line at the
configured threshold and a movable one (report.js) for the user's what-if.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from html import escape
from itertools import accumulate
from typing import Any

from webrefine.pipeline.report.whatif import nice

W, H = 360, 168
LEFT, RIGHT, TOP, BOTTOM = 10, 36, 16, 24
PW, PH = W - LEFT - RIGHT, H - TOP - BOTTOM
BINS, CURVE_POINTS = 40, 160


def _fwd(v: float, log: bool) -> float:
    return math.log10(1 + max(v, 0.0)) if log else v


def _inv(x: float, log: bool) -> float:
    return 10 ** x - 1 if log else x


def domain(values: list[float], t: float | None, log: bool) -> tuple[float, float]:
    """The x range in the chart's (possibly log) coordinates, with a little margin."""
    pts = [_fwd(v, log) for v in (values[0], values[-1])] + ([_fwd(t, log)] if t is not None else [])
    f0, f1 = min(pts), max(pts)
    if f1 - f0 < 1e-12:
        f0, f1 = f0 - 0.5, f1 + 0.5
    pad = (f1 - f0) * 0.03
    return f0 - pad, f1 + pad


class Removal:
    """What a rule removes at any threshold, by bisection over prefix sums: O(log n) a query."""

    def __init__(self, values: list[float], counts: list[int], direction: str, zero_exempt: bool) -> None:
        self.values, self.direction, self.zero_exempt = values, direction, zero_exempt
        self.prefix = [0, *accumulate(counts)]
        self.zero = sum(n for v, n in zip(values, counts) if v == 0)

    def __call__(self, t: float) -> int:
        v, p, d = self.values, self.prefix, self.direction
        if d == "min":
            n, zero_fails = p[bisect_left(v, t)], 0 < t
        elif d == "min_le":
            n, zero_fails = p[bisect_right(v, t)], 0 <= t
        elif d == "max":
            n, zero_fails = p[-1] - p[bisect_right(v, t)], 0 > t
        else:
            n, zero_fails = p[-1] - p[bisect_left(v, t)], 0 >= t
        return n - self.zero if self.zero_exempt and zero_fails else n


def _x(f: float, f0: float, f1: float) -> float:
    return LEFT + (f - f0) / (f1 - f0) * PW


def _ticks(f0: float, f1: float, log: bool) -> list[float]:
    """Tick values (in signal units) inside the domain."""
    lo, hi = _inv(f0, log), _inv(f1, log)
    if log:
        return [10.0 ** e for e in range(0, 12) if lo <= 10.0 ** e <= hi] or [round(hi)]
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 5:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(0, 8) if first + i * step <= hi + 1e-12]


def whatif_svg(w: dict[str, Any], fails_at) -> tuple[str, dict[str, Any]]:
    """(the SVG, the geometry report.js needs to move the what-if line)."""
    values, docs, chars, log, t = w["values"], w["docs"], w["chars"], w["log"], w["threshold"]
    f0, f1 = domain(values, t, log)
    bins = [0] * BINS
    for v, n in zip(values, docs):
        bins[min(BINS - 1, max(0, int((_fwd(v, log) - f0) / (f1 - f0) * BINS)))] += n
    top = max(bins) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{escape(w["key"])}: histogram and what-if curves">',
             f'<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" class="plot"/>']
    bw = PW / BINS
    for i, n in enumerate(bins):
        if not n:
            continue
        centre = _inv(f0 + (i + 0.5) / BINS * (f1 - f0), log)
        h = max(1.0, n / top * PH)
        cls = "bar fail" if fails_at(centre) else "bar"
        parts.append(f'<rect class="{cls}" x="{LEFT + i * bw + 0.5:.1f}" y="{TOP + PH - h:.1f}" '
                     f'width="{bw - 1:.1f}" height="{h:.1f}"><title>{n:,} documents</title></rect>')
    for series, cls in ((docs, "curve docs"), (chars, "curve chars")):
        if not series or not sum(series):
            continue
        rem, total = Removal(values, series, w["direction"], w["zero_exempt"]), sum(series)
        pts = []
        for j in range(CURVE_POINTS + 1):
            f = f0 + j / CURVE_POINTS * (f1 - f0)
            pts.append(f"{_x(f, f0, f1):.1f},{TOP + PH - rem(_inv(f, log)) / total * PH:.1f}")
        parts.append(f'<polyline class="{cls}" points="{" ".join(pts)}"/>')
    for frac in (0, 0.5, 1):
        parts.append(f'<text class="ylab" x="{W - RIGHT + 3}" y="{TOP + PH - frac * PH + 3:.1f}">{frac:.0%}</text>')
    for tick in _ticks(f0, f1, log):
        x = _x(_fwd(tick, log), f0, f1)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + PH}" y2="{TOP + PH + 3}"/>'
                     f'<text class="xlab" x="{x:.1f}" y="{H - 8}">{escape(_short(tick))}</text>')
    xt = _x(_fwd(t, log), f0, f1)
    anchor = "start" if xt < LEFT + 0.2 * PW else "end" if xt > LEFT + 0.8 * PW else "middle"
    parts.append(f'<line class="thr" x1="{xt:.1f}" x2="{xt:.1f}" y1="{TOP - 4}" y2="{TOP + PH}"/>'
                 f'<text class="thrlab" x="{xt:.1f}" y="{TOP - 6}" text-anchor="{anchor}">'
                 f'{escape(w["op"])} {escape(nice(t))}</text>'
                 f'<line class="probe" x1="{xt:.1f}" x2="{xt:.1f}" y1="{TOP}" y2="{TOP + PH}"/>')
    parts.append("</svg>")
    return "".join(parts), {"f0": f0, "f1": f1, "left": LEFT, "pw": PW}


def hist_svg(name: str, values: list[float], counts: list[int], log: bool) -> str:
    """A plain histogram (signals without a rule: extracted characters, cluster sizes)."""
    f0, f1 = domain(values, None, log)
    bins = [0] * BINS
    for v, n in zip(values, counts):
        bins[min(BINS - 1, max(0, int((_fwd(v, log) - f0) / (f1 - f0) * BINS)))] += n
    top, bw = max(bins) or 1, PW / BINS
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(name)} histogram">',
             f'<rect x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}" class="plot"/>']
    for i, n in enumerate(bins):
        if n:
            h = max(1.0, n / top * PH)
            parts.append(f'<rect class="bar" x="{LEFT + i * bw + 0.5:.1f}" y="{TOP + PH - h:.1f}" '
                         f'width="{bw - 1:.1f}" height="{h:.1f}"><title>{n:,} documents</title></rect>')
    parts.append(f'<text class="ylab" x="{W - RIGHT + 3}" y="{TOP + 3}">{top:,}</text>')
    for tick in _ticks(f0, f1, log):
        x = _x(_fwd(tick, log), f0, f1)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + PH}" y2="{TOP + PH + 3}"/>'
                     f'<text class="xlab" x="{x:.1f}" y="{H - 8}">{escape(_short(tick))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:g}k"
    return nice(round(v, 6))
