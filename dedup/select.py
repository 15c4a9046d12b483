"""Deterministic survivor rules shared by every dedup stage.

A duplicate group keeps the document with the *smallest* survivor key. Keys are plain
tuples of strings so that they compare the same way on every worker and runner and
encode compactly in Beam's shuffles (they are also the node labels of MinHash
connected components, where the component minimum is the survivor).

Rules (docs/rules.md, Deduplication):
- ``earliest``: earliest ``date`` wins, then the smallest ``id``;
- ``latest``: latest ``date`` wins, then the smallest ``id``.
In both, a document without a date sorts after every dated one: an unknown crawl date
never beats a known one. Dates are compared as ISO 8601 strings (WARC-Date is always
``YYYY-MM-DDThh:mm:ssZ``, for which string order is time order).
"""
from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

from webrefine.dedup.refs import DocRef
from webrefine.filters.document import Document

SURVIVOR_RULES = ("earliest", "latest")

# "latest" inverts each character of the date so that a later date gives a smaller
# string. Characters map below U+FFFF (no surrogates for anything under U+1000, which
# covers every ISO date); the terminator sorts after every mapped character so that a
# prefix ("2024") counts as earlier than its extensions ("2024-05"), as in string order.
_INV_BASE = 0xFFFE
_INV_END = "\uffff"

T = TypeVar("T")


def check_rule(rule: str, stage: str) -> None:
    if rule not in SURVIVOR_RULES:
        raise ValueError(f"{stage}: survivor must be one of {SURVIVOR_RULES}, got {rule!r}")


def _invert(date: str) -> str:
    return "".join(chr(_INV_BASE - ord(c)) if ord(c) < 0x1000 else "\uefff" for c in date) + _INV_END


def date_key(date: str, rule: str = "earliest") -> tuple[int, str]:
    """(0, comparable date) for dated documents, (1, "") for undated ones."""
    if not date:
        return (1, "")
    return (0, date if rule == "earliest" else _invert(date))


def rank(doc: Document, rule: str = "earliest") -> tuple[int, str, str]:
    """The compact survivor key used as a MinHash graph label: (undated?, date, id).

    Document ids (WARC-Record-ID) are unique within a run; two documents with the same
    id and date are the same node for MinHash.
    """
    flag, date = date_key(doc.date, rule)
    return (flag, date, doc.id)


def full_key(doc: Document, rule: str = "earliest") -> tuple:
    """The survivor key for stages that see whole documents (exact and URL dedup).

    After (date, id) come url, source and text, so that even documents sharing an id
    are ordered by content: the kept document never depends on processing order.
    """
    if isinstance(doc, DocRef):  # the text stays in the work area: its digest stands for it
        return rank(doc, rule) + (doc.url, doc.file, doc.tie)
    return rank(doc, rule) + (doc.url, doc.source, doc.text)


def split_group(docs: Iterable[Document], rule: str = "earliest") -> tuple[Document, int, Iterator[Document]]:
    """(survivor, group size, the others): streamed, the group is never held in memory.

    ``docs`` must be re-iterable (a Beam GroupByKey result is: runners page large groups
    from shuffle and re-read them). Pass 1 finds the best key; pass 2 yields every other
    document. Equal keys mean equal documents (``full_key`` ends with the text), so
    which of them is "first" does not change the output.
    """
    best_doc, best, size = None, None, 0
    for doc in docs:
        size += 1
        key = full_key(doc, rule)
        if best is None or key < best:
            best_doc, best = doc, key
    if best_doc is None:
        raise ValueError("empty group")

    def losers() -> Iterator[Document]:
        skipped = False
        for doc in docs:
            if not skipped and full_key(doc, rule) == best:
                skipped = True
                continue
            yield doc

    return best_doc, size, losers()
