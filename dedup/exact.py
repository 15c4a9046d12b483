"""exact_dedup: one document per normalised text.

Normalisation (what counts as "the same text"): Unicode NFC, so that composed and
decomposed accents agree; every run of whitespace (spaces, tabs, newlines, NBSP and
other Unicode spaces) collapsed to one space; leading and trailing whitespace removed.
Case and punctuation are kept: this stage removes copies, MinHash removes near-copies.
The key is a 128-bit BLAKE2b digest of the UTF-8 normalised text (collision odds
~n²/2¹²⁹: nil at any crawl size), so a shuffle moves 16 bytes of key per document.

Survivor: the smallest ``dedup.select.full_key`` (earliest date, then smallest id, by
default). Documents whose normalised text is empty all share one key, like any text.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from webrefine.dedup.select import check_rule
from webrefine.filters.stage import GlobalStage

_SPACE_RE = re.compile(r"\s+")
UNICODE_FORMS = ("NFC", "NFKC", "none")


def normalise_text(text: str, form: str = "NFC", collapse_whitespace: bool = True,
                   lowercase: bool = False) -> str:
    if form != "none":
        text = unicodedata.normalize(form, text)
    if collapse_whitespace:
        text = _SPACE_RE.sub(" ", text)
    text = text.strip()
    return text.lower() if lowercase else text


def text_key(text: str, form: str = "NFC", collapse_whitespace: bool = True,
             lowercase: bool = False) -> bytes:
    norm = normalise_text(text, form, collapse_whitespace, lowercase)
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class ExactDedup(GlobalStage):
    """Drop every document whose normalised text equals an earlier-ranked one's."""

    name: ClassVar[str] = "exact_dedup"
    reasons: ClassVar[tuple[str, ...]] = ("exact_dedup.duplicate",)

    unicode_form: str = "NFC"  # NFC | NFKC | none
    collapse_whitespace: bool = True
    lowercase: bool = False  # off: "exact" keeps case; MinHash handles case variants
    survivor: str = "earliest"  # earliest | latest (by date; ties: smallest id)

    def __post_init__(self) -> None:
        if self.unicode_form not in UNICODE_FORMS:
            raise ValueError(f"exact_dedup: unicode_form must be one of {UNICODE_FORMS}, "
                             f"got {self.unicode_form!r}")
        check_rule(self.survivor, self.name)

    def key(self, text: str) -> bytes:
        return text_key(text, self.unicode_form, self.collapse_whitespace, self.lowercase)
