"""Gopher document-wise quality rules (Rae et al. 2021), RW profile: docs/rules.md, Gopher quality.

RefinedWeb applies Gopher's heuristics unchanged, so the thresholds are
Gopher's: keep 50-100,000 words (shorter pages are mostly navigation or stubs, longer ones
dumps), a mean word length of 3-10 characters (outside: tables, hashes, glued tokens), at
most 0.1 "#" and 0.1 ellipses per word (tag clouds, truncated teasers), at most 90% of lines
starting with a bullet (link lists), at most 30% ending with an ellipsis (teaser pages), at
least 80% of words with a letter (numbers, code, symbols) and at least 2 English stop words
(a cheap "is this running English prose" test).

Definitions (RW profile = DCLM; the shared helpers are in ``filters.text_units``):

- words are whitespace words; the word count counts only words with an alphanumeric
  character (datatrove counts spaCy tokens; its punctuation tokens skew the ratios);
- mean word length is over all whitespace words (attached punctuation counts, as in DCLM);
- "#" and ellipsis (``...``, ``. . .``, ``…``) ratios are two separate checks over whitespace
  words, as Gopher words them. ``combined_symbol_ratio=True`` gives DCLM's single, slightly
  stricter check of their sum (reason ``symbol_ratio``) for DCLM parity;
- bullet and ellipsis lines are shares of the non-empty stripped lines (datatrove counts
  blank lines in the denominator, which makes both rules laxer); bullets are DCLM's
  ``● • * -``;
- the alphabetic share is over whitespace words (datatrove includes punctuation tokens,
  which is stricter);
- stop words are counted as occurrences of lowercased whitespace words (DCLM; datatrove now
  counts distinct, case-sensitive words).

Parameters give datatrove's reading instead (the ``fineweb`` preset sets them, to make FineWeb's
decisions; docs/rules.md, Gopher quality):

- ``words: spacy_en``: words are spaCy's English tokens (``filters.spacy_en_tokens``); the
  word count and mean length are over the tokens holding a character outside datatrove's
  punctuation set, the "#" and ellipsis ratios and the alphabetic share over all tokens,
  punctuation tokens included (a letter is ``str.isalpha``);
- ``stop_word_count: distinct``: the number of distinct stop words among the words, case kept
  (datatrove since v0.5: "The" is not "the");
- ``lines: all``: bullet and ellipsis shares over ``text.splitlines()``, blank lines included;
- ``ellipses``: what counts as an ellipsis (datatrove: "..." and "…").

Rules are checked in datatrove's (Gopher's) order, first failure is the reason; every
signal is computed for every document.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import ClassVar

from webrefine.filters import text_units
from webrefine.filters.stage import Filter, Rule

_ELLIPSES = ("...", ". . .", "\u2026")


@dataclass(frozen=True)
class GopherQuality(Filter):
    """Drops documents failing any of Gopher's seven quality rules (see module doc)."""

    name: ClassVar[str] = "gopher_quality"
    signal_names: ClassVar[tuple[str, ...]] = (
        "word_count", "mean_word_len", "hash_ratio", "ellipsis_ratio", "symbol_ratio",
        "bullet_lines_ratio", "ellipsis_lines_ratio", "alpha_words_ratio", "stop_words",
    )
    rules: ClassVar[tuple[Rule, ...]] = (  # in check order (Gopher's, as datatrove)
        Rule("word_count_low", "word_count", "min", "min_words"),
        Rule("word_count_high", "word_count", "max", "max_words"),
        Rule("mean_word_len", "mean_word_len", "min", "min_mean_word_len", label="low"),
        Rule("mean_word_len", "mean_word_len", "max", "max_mean_word_len", label="high"),
        Rule("hash_ratio", "hash_ratio", "max", "max_hash_ratio", disabled_by="combined_symbol_ratio"),
        Rule("ellipsis_ratio", "ellipsis_ratio", "max", "max_ellipsis_ratio", disabled_by="combined_symbol_ratio"),
        Rule("symbol_ratio", "symbol_ratio", "max", "max_symbol_ratio", enabled_by="combined_symbol_ratio"),
        Rule("bullet_lines", "bullet_lines_ratio", "max", "max_bullet_lines_ratio"),
        Rule("ellipsis_lines", "ellipsis_lines_ratio", "max", "max_ellipsis_lines_ratio"),
        Rule("alpha_words", "alpha_words_ratio", "min", "min_alpha_words_ratio"),
        Rule("stop_words", "stop_words", "min", "min_stop_words"),
    )

    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_len: float = 3.0
    max_mean_word_len: float = 10.0
    max_hash_ratio: float = 0.1
    max_ellipsis_ratio: float = 0.1
    combined_symbol_ratio: bool = False  # DCLM: one check of (# + ellipses) / words > 0.1
    max_symbol_ratio: float = 0.1  # used only with combined_symbol_ratio
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    stop_words: tuple[str, ...] = ("the", "be", "to", "of", "and", "that", "have", "with")
    bullets: tuple[str, ...] = ("\u25cf", "\u2022", "*", "-")
    ellipses: tuple[str, ...] = _ELLIPSES
    # datatrove's reading (module doc); the defaults are DCLM's
    words: str = "whitespace"  # or "spacy_en"
    stop_word_count: str = "occurrences"  # or "distinct" (case kept)
    lines: str = "non_empty"  # or "all" (splitlines, blank lines included)

    def __post_init__(self) -> None:
        for key, allowed in (("words", ("whitespace", "spacy_en")), ("stop_word_count", ("occurrences", "distinct")),
                             ("lines", ("non_empty", "all"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"gopher_quality.{key} must be one of {', '.join(allowed)}; "
                                 f"got {getattr(self, key)!r}")
        if not self.ellipses or any(not e for e in self.ellipses):
            raise ValueError("gopher_quality.ellipses must be non-empty strings")
        if not 0 <= self.min_words <= self.max_words:
            raise ValueError(f"gopher_quality: need 0 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if not 0 <= self.min_mean_word_len <= self.max_mean_word_len:
            raise ValueError("gopher_quality: need 0 <= min_mean_word_len <= max_mean_word_len")
        for key in ("max_hash_ratio", "max_ellipsis_ratio", "max_symbol_ratio"):
            if getattr(self, key) < 0:
                raise ValueError(f"gopher_quality.{key} must be >= 0, got {getattr(self, key)!r}")
        for key in ("max_bullet_lines_ratio", "max_ellipsis_lines_ratio", "min_alpha_words_ratio"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"gopher_quality.{key} must be in [0, 1], got {getattr(self, key)!r}")
        if self.min_stop_words < 0:
            raise ValueError("gopher_quality.min_stop_words must be >= 0")
        if any(not w or w != w.lower() or len(w.split()) != 1 for w in self.stop_words):
            raise ValueError("gopher_quality.stop_words must be single lowercase words")
        if any(not b for b in self.bullets):
            raise ValueError("gopher_quality.bullets must be non-empty strings")

    def signals(self, text: str) -> dict[str, float]:
        if self.words == "spacy_en":
            toks = text_units.spacy_words(text)
            counts = text_units.spacy_word_counts(text)
        else:
            toks = None
            counts = text_units.word_counts(text)
        n = counts.words
        hashes = text.count("#")
        ell = self.ellipses
        ellipses = sum(text.count(e) for e in ell)
        bullets = self.bullets
        if self.lines == "all":
            raw = text.splitlines()
            n_lines = len(raw)
            # (C-level maps: no Python step per line)
            bullet_lines = sum(map(str.startswith, map(str.lstrip, raw), repeat(bullets)))
            ellipsis_lines = sum(map(str.endswith, map(str.rstrip, raw), repeat(ell)))
        else:
            lines = text_units.lines(text)
            n_lines = len(lines)
            bullet_lines = sum(1 for ln in lines if ln.startswith(bullets))
            ellipsis_lines = sum(1 for ln in lines if ln.endswith(ell))
        if self.stop_word_count == "distinct":
            words = set(toks if toks is not None else text_units.words(text))
            stop = sum(1 for w in set(self.stop_words) if w in words)
        elif toks is not None:
            stop = sum(1 for t in toks if t.lower() in self.stop_words)
        else:
            stop = _count_words(text, self.stop_words)
        return {
            "word_count": float(counts.alnum),
            "mean_word_len": text_units.ratio(counts.chars, counts.alnum if toks is not None else n),
            "hash_ratio": text_units.ratio(hashes, n),
            "ellipsis_ratio": text_units.ratio(ellipses, n),
            "symbol_ratio": text_units.ratio(hashes + ellipses, n),
            "bullet_lines_ratio": text_units.ratio(bullet_lines, n_lines),
            "ellipsis_lines_ratio": text_units.ratio(ellipsis_lines, n_lines),
            "alpha_words_ratio": text_units.ratio(counts.alpha, n),
            "stop_words": float(stop),
        }


@lru_cache(maxsize=16)
def _word_regex(wanted: tuple[str, ...]) -> re.Pattern:
    return re.compile(" (?:" + "|".join(map(re.escape, sorted(wanted, key=len, reverse=True))) + ")(?= )")


def _count_words(text: str, wanted: tuple[str, ...]) -> int:
    """Occurrences of the ``wanted`` words among the lowercased whitespace words of ``text``.

    One regex pass over the shared " w1 w2 w3 " view; faster than a Python loop over the
    words or one ``str.count`` per wanted word (bench/bench_filters.py).
    """
    return len(_word_regex(wanted).findall(text_units.lowered_words(text))) if wanted else 0
