"""The one definition of words, lines, paragraphs and n-gram tokens that every filter uses.

One word function and one token function across all stages, so rates stay comparable between
rules and runs (docs/rules.md, Shared text definitions). The RW profile picks:

- ``words(text)``: whitespace words, ``text.split()`` (Gopher "words"; DCLM's quality rules).
  Counts called "word count" use only the words holding at least one alphanumeric
  character (``WordCounts.alnum``), so a lone "-" or "|" is not a word. DCLM counts fastText
  tokens that start with an alphanumeric; counting whitespace words with an alphanumeric gives
  the same number on ordinary prose without a tokenizer dependency.
- ``lines(text)``: split on ``\\n`` only, each line stripped, empty ones dropped (DCLM;
  blank lines must not inflate duplicate-line counts). ``\\r`` goes with the strip; other
  Unicode line separators are not line breaks here (trafilatura emits ``\\n``).
- ``paragraphs(text)``: split on blank lines (``\\n``, optional whitespace, ``\\n``), stripped,
  empty ones dropped. DCLM splits on the exact string ``\\n\\n``; treating a whitespace-only
  line as blank too is the same after extraction and sturdier on other inputs.
- ``tokens(text)``: n-gram tokens for the repetition rules: maximal runs of word characters
  (``\\w``), each starting at its first alphanumeric (regex ``[^\\W_]\\w*``), case kept. DCLM
  uses UAX #29 segmentation (uniseg) and keeps tokens that start with an alphanumeric; ``\\w``
  runs are the other common reading, need no dependency, and match the ``\\w+`` tokens
  of the dedup ground truth. Difference: "don't" is two tokens here, one in UAX #29.
- ``spacy_words(text)``: the other word definition, only for parameters that reproduce
  datatrove (the ``fineweb`` preset): spaCy's English tokens, punctuation tokens included
  (``filters.spacy_en_tokens``).

Speed (all filters together well under 10% of extraction). The filters run back to back on
the same string, so each view is computed once and shared through small ``lru_cache``s keyed
by the text (Python caches a str's hash). Everything returns tuples (immutable, safe to
share). Nothing loops over characters in Python. Most English pages have no non-ASCII word
character (only curly quotes, dashes, symbols); for them word classes and tokens come from
``bytes.translate`` on the UTF-8 words, several times faster than a regex scan, with
results identical to the regex path used for every other text (tests compare the two).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from webrefine.filters import spacy_en_tokens

# Eight entries: enough for the few texts alive at once in one worker thread (the input of
# a stage and the rewrite it produced); Beam runs several threads per process, and a miss
# only costs the recomputation.
_CACHE_SIZE = 8

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_TOKEN = re.compile(r"[^\W_]\w*")
# A whitespace word without any letter (the leading whitespace is part of the match: the
# engine then skips from one whitespace character to the next, faster than a lookbehind).
# ``\s`` is exactly the whitespace of ``str.split()`` (both use Py_UNICODE_ISSPACE).
_NON_ALPHA_WORD = re.compile(r"\s(?:[^\w\s]|[\d_])+(?=\s|\Z)")
_ALNUM = re.compile(r"[^\W_]")
_ASCII_BYTES = bytes(range(128))
_LEADING_UNDERSCORES = re.compile(rb"(?<![A-Za-z0-9_])_+")


def _table(keep: bytes, to: bytes | None) -> tuple[bytes, bytes]:
    """bytes.translate arguments: map ``keep`` to ``to`` (itself if None), the space stays,
    every other byte is deleted."""
    table = bytearray(range(256))
    for b in keep:
        table[b] = to[0] if to else b
    delete = bytes(b for b in range(256) if b not in keep and b != 0x20)
    return bytes(table), delete


_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))
_DIGITS = b"0123456789"
_ALNUM_TABLE = _table(_LETTERS + _DIGITS, b"a")
_ALPHA_TABLE = _table(_LETTERS, b"a")
# Tokens: ASCII word bytes stay, every other byte becomes a space.
_TOKEN_TABLE = bytes(b if b in _LETTERS + _DIGITS + b"_" else 0x20 for b in range(256))


class WordCounts(NamedTuple):
    words: int  # whitespace words
    alnum: int  # of them, words with at least one alphanumeric character: "word count"
    alpha: int  # of them, words with at least one letter (Gopher's alphabetic-word rule)
    chars: int  # characters inside words (for the mean word length)


@lru_cache(maxsize=_CACHE_SIZE)
def words(text: str) -> tuple[str, ...]:
    """Whitespace words."""
    return tuple(text.split())


@lru_cache(maxsize=_CACHE_SIZE)
def joined_words(text: str) -> str:
    """The whitespace words joined by single spaces."""
    return " ".join(words(text))


@lru_cache(maxsize=_CACHE_SIZE)
def _ascii_words(text: str) -> bytes | None:
    """``joined_words`` as UTF-8 bytes when no non-ASCII character in it is a word character
    (then bytes >= 0x80 are all punctuation or symbols), else None: use the regexes."""
    joined = joined_words(text)
    encoded = joined.encode("utf-8", "surrogatepass")
    extra = len(encoded) - len(joined)
    if extra:
        if extra > len(joined) >> 4:  # much non-ASCII: most likely letters, skip the check
            return None
        others = encoded.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
        if any(c.isalnum() for c in set(others)):
            return None
    return encoded


@lru_cache(maxsize=_CACHE_SIZE)
def word_counts(text: str) -> WordCounts:
    """Word totals of ``text`` (see ``WordCounts``), cached: the document-level view."""
    ws = words(text)
    fast = _ascii_words(text)
    if fast is None or not ws:
        return count_words(text, ws)
    spaced = b" " + fast
    return WordCounts(
        len(ws),
        spaced.translate(*_ALNUM_TABLE).count(b" a"),
        spaced.translate(*_ALPHA_TABLE).count(b" a"),
        sum(map(len, ws)),
    )


def count_words(text: str, ws: tuple[str, ...] | list[str] | None = None) -> WordCounts:
    """Word totals of any string, uncached (use it for single lines).

    "Letter" is ``\\w`` minus decimal digits and ``_``; it differs from ``str.isalpha`` only
    on rare numeric symbols such as "²" or "½", which count as letters here.
    """
    if ws is None:
        ws = text.split()
    if not ws:
        return WordCounts(0, 0, 0, 0)
    non_alpha = _NON_ALPHA_WORD.findall(" " + text)
    # Every word without an alphanumeric also lacks a letter: look for those only among the
    # (few) non-alphabetic words instead of scanning the text a second time.
    non_alnum = sum(1 for w in non_alpha if not _ALNUM.search(w)) if non_alpha else 0
    return WordCounts(len(ws), len(ws) - non_alnum, len(ws) - len(non_alpha), sum(map(len, ws)))


def count_alnum_words(text: str) -> int:
    """The document word count: whitespace words holding an alphanumeric character."""
    return word_counts(text).alnum


@lru_cache(maxsize=_CACHE_SIZE)
def lowered_words(text: str) -> str:
    """The lowercased whitespace words joined by single spaces, with a space at each end.

    A regex `` (?:the|of)(?= )`` then finds whole-word occurrences in one fast pass (a
    literal first character lets the engine skip ahead).
    """
    return " " + joined_words(text).lower() + " "


@lru_cache(maxsize=_CACHE_SIZE)
def lines(text: str) -> tuple[str, ...]:
    """Non-empty lines, stripped."""
    return tuple(filter(None, map(str.strip, text.split("\n"))))


@lru_cache(maxsize=_CACHE_SIZE)
def paragraphs(text: str) -> tuple[str, ...]:
    """Non-empty paragraphs (blocks between blank lines), stripped."""
    return tuple(filter(None, map(str.strip, _PARAGRAPH_BREAK.split(text))))


@lru_cache(maxsize=_CACHE_SIZE)
def tokens(text: str) -> tuple[str, ...]:
    """N-gram tokens: ``\\w`` runs starting at an alphanumeric, case kept."""
    fast = _ascii_words(text)
    if fast is None:
        return tuple(_TOKEN.findall(text))
    spaced = fast.translate(_TOKEN_TABLE)
    if b"_" in spaced:  # a token starts at its first alphanumeric: drop leading underscores
        spaced = _LEADING_UNDERSCORES.sub(b" ", spaced)
    return tuple(spaced.decode("ascii").split())


@lru_cache(maxsize=_CACHE_SIZE)
def _spacy_page(text: str) -> spacy_en_tokens.PageTokens:
    """spaCy's tokens of the whitespace words, their word counts and each word's sentence
    classes (``spacy_en_tokens.page_tokens``): one lookup per word for the three views below."""
    return spacy_en_tokens.page_tokens(words(text))


def spacy_words(text: str) -> tuple[str, ...]:
    """The other word definition, for presets that reproduce datatrove (FineWeb): the tokens of
    ``spacy.blank("en")``, punctuation tokens included (``filters.spacy_en_tokens``)."""
    return _spacy_page(text).tokens


def spacy_word_counts(text: str) -> spacy_en_tokens.TokenCounts:
    """datatrove's word counts over ``spacy_words(text)`` (``spacy_en_tokens.word_counts``)."""
    return _spacy_page(text).counts


def spacy_sentence_classes(text: str) -> tuple[str, ...]:
    """The spaCy sentence classes of each whitespace word (aligned with ``words(text)``), for
    ``spacy_en_tokens.count_sentences``."""
    return _spacy_page(text).sentence_classes


def clear_caches() -> None:
    """Forget every cached view (benchmarks)."""
    for fn in (words, joined_words, _ascii_words, word_counts, lowered_words, lines, paragraphs, tokens,
               _spacy_page):
        fn.cache_clear()


def ratio(num: float, den: float) -> float:
    """num / den, or 0.0 for an empty denominator (an empty text has no repetition)."""
    return num / den if den else 0.0
