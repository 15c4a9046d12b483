"""Exact-output speed-up of trafilatura's XPath pruning (``extract: {speedup: true}``).

A profile of the extractor (py-spy over the helper processes, cc-sample) puts much of
trafilatura's time in ``prune_unwanted_nodes``: XPath expressions evaluated over every
element, many with EXSLT ``re:test(@class, '...')`` predicates. lxml implements ``re:test``
as a call back into Python for every element tested, even an element without the
attribute, where the test sees the empty string.

``guard`` rewrites ``re:test(@a, P)`` to ``((@a) and re:test(@a, P))`` (and
``re:test(@a|@b, P)`` to ``((@a or @b) and ...)``) when ``P`` cannot match the empty
string: without the attribute the test is false either way, so the expression selects the
same nodes and libxml2 skips the call. A pattern that matches the empty string is left
alone. ``install`` applies this to the compiled expressions in ``trafilatura.xpaths`` in
place (the lists are shared with the modules that use them) and returns an undo function.

Checked by tests/filters/extract/test_speedup.py (identical output on the bundled sample)
and ``bench/bench_extract.py`` (identical on all cc-sample pages, and the time saved).
"""
from __future__ import annotations

import re
from typing import Callable

REGEXP_NS = "http://exslt.org/regular-expressions"
# re:test(ARG, 'PATTERN'[, 'FLAGS']) where ARG is one attribute or a union of attributes
_RE_TEST = re.compile(r"re:test\((@[\w:-]+(?:\s*\|\s*@[\w:-]+)*)\s*,\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)")


def _guard_call(m: re.Match) -> str:
    attrs, pattern, flags = m.group(1), m.group(2), m.group(3) or ""
    try:
        matches_empty = re.search(pattern, "", re.IGNORECASE if "i" in flags else 0) is not None
    except re.error:
        return m.group(0)  # not a Python regex we can reason about: leave it
    if matches_empty:
        return m.group(0)
    present = " or ".join(a.strip() for a in attrs.split("|"))
    return f"(({present}) and {m.group(0)})"


def guard(path: str) -> str:
    """``path`` with every guardable ``re:test`` on attributes behind an existence test."""
    return _RE_TEST.sub(_guard_call, path)


def _prefixes(path: str) -> set[str]:
    """Namespace prefixes used in ``path`` (we recompile with ``re`` bound, nothing else)."""
    return set(re.findall(r"(?<![:\w-])([A-Za-z_][\w-]*):(?!:)", re.sub(r"'[^']*'", "''", path)))


_undo: Callable[[], None] | None = None


def install() -> Callable[[], None]:
    """Rewrite trafilatura's expressions in place (once per process); returns a function
    that restores them."""
    global _undo
    if _undo is None:
        _undo = _rewrite()
    return uninstall


def uninstall() -> None:
    global _undo
    if _undo is not None:
        _undo()
        _undo = None


def _rewrite() -> Callable[[], None]:
    from lxml.etree import XPath
    from trafilatura import xpaths

    replaced: list[tuple[list, int, object]] = []
    for value in vars(xpaths).values():
        if not isinstance(value, list):
            continue
        for i, expr in enumerate(value):
            if not isinstance(expr, XPath) or "re:test" not in expr.path or _prefixes(expr.path) != {"re"}:
                continue
            new_path = guard(expr.path)
            if new_path != expr.path:
                replaced.append((value, i, expr))
                value[i] = XPath(new_path, namespaces={"re": REGEXP_NS})

    def undo() -> None:
        for lst, i, expr in replaced:
            lst[i] = expr

    return undo
