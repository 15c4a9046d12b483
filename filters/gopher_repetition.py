"""Gopher repetition removal (Rae et al. 2021, Table A1; docs/rules.md, Gopher repetition), RW profile = DCLM semantics.

Thirteen checks; a document is dropped when a fraction is **greater than** its threshold.
Gopher's thresholds (0.30/0.30/0.20/0.20, then 0.20/0.18/0.16 for the top 2-4-grams and
0.15 down to 0.10 for the duplicated 5-10-grams) are carried over unchanged: RefinedWeb
applied them as published.

Semantics (DCLM ``massive_web_repetition_filters``, the explicit RefinedWeb reproduction, and
the closest to Gopher's wording; datatrove differs on almost every point):

- lines / paragraphs come from ``filters.text_units`` (stripped, empty ones dropped);
- a repeated segment counts with **all** its occurrences, the first included (example:
  three lines, two identical → 2/3);
- line/paragraph character fractions divide by the summed length of the stripped segments;
- a document with a single line (paragraph) passes the line (paragraph) checks: fraction 0;
- n-grams are over ``filters.text_units.tokens``; an n-gram's length is the sum of its tokens'
  lengths (no spaces) and the denominator is the summed length of all tokens;
- top-n (n = 2..4): characters of the most frequent n-gram × its count; 0 when nothing
  repeats (avoids crediting short unique documents to ``top_2gram``); among n-grams
  tied at the top count, the longest;
- dup-n (n = 5..10): characters of the union of token positions covered by any n-gram that
  occurs more than once (all occurrences).

Four parameters give datatrove's reading instead (the ``fineweb`` preset sets them all, to make
FineWeb's decisions; docs/rules.md, Gopher repetition):

- ``duplicates: after_first``: a repeated line or paragraph counts only with its copies after
  the first (three lines, two identical → 1/3); dup-n is datatrove's greedy scan (left to
  right, an n-gram seen before adds its characters and the scan jumps past it);
- ``segments: raw``: lines are the text split on runs of ``\n``, paragraphs ``text.strip()``
  split on ``\n\n+``, neither stripped; a single segment is evaluated too;
- ``char_fractions_of: text``: every character fraction divides by ``len(text)``; a top-n
  n-gram's length counts the spaces between its tokens, and the top n-gram counts even when
  it occurs once (then the first n-gram of the text);
- ``tokens: spacy_en``: n-grams over spaCy's English tokens, punctuation included
  (``filters.spacy_en_tokens``).

Deviations: an empty document gets fractions of 0 and passes (DCLM drops it; the quality
stage drops it as ``word_count_low``, which is the truthful reason). Checks run in DCLM's
order: line count, paragraph count, line chars, paragraph chars, top-n, dup-n.

Speed: short documents use pure Python with pruning (an n-gram can only repeat where the
(n-1)-grams at its position and the next one repeat, so after one full count of 2-grams
each larger n only looks at those candidates); from ``NUMPY_MIN_TOKENS`` tokens on, and for
repetitive pages where pruning fails, numpy numbers the n-grams by sorting. Both are exact.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import compress, count, repeat
from typing import ClassVar, Sequence

import numpy as np

from webrefine.filters import text_units
from webrefine.filters.stage import Filter, Rule

_TOP_N = (2, 3, 4)
_PARA_RUNS = re.compile("\n{2,}")
_DUP_N = (5, 6, 7, 8, 9, 10)
# Signal names = field names = reason suffixes, in check order (DCLM's).
_KEYS = (
    "dup_line_frac",
    "dup_para_frac",
    "dup_line_char_frac",
    "dup_para_char_frac",
    *(f"top_{n}gram" for n in _TOP_N),
    *(f"dup_{n}gram" for n in _DUP_N),
)


def _raw_lines(text: str) -> list[str]:
    """``re.split("\\n+", text)`` (datatrove's lines), with str.split's speed."""
    lines = [ln for ln in text.split("\n") if ln]
    if not text or text[0] == "\n":
        lines.insert(0, "")
    if text and text[-1] == "\n":
        lines.append("")
    return lines


def _raw_paragraphs(text: str) -> list[str]:
    """``re.split("\\n{2,}", text.strip())`` (datatrove's paragraphs); most extracted texts have
    no blank line at all."""
    text = text.strip()
    return _PARA_RUNS.split(text) if "\n\n" in text else [text]


def _token_arrays(toks: Sequence[str]) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """(token ids, a bound above every id, token lengths, cumulative characters with a leading
    0): what both vectorised n-gram paths start from. A token's id is the position of its first
    occurrence (one ``setdefault`` per token, no second pass), so ids keep the order of first
    appearance and stay below the token count."""
    n_tok = len(toks)
    first: dict[str, int] = {}
    tid = np.fromiter(map(first.setdefault, toks, count()), np.int64, n_tok)
    lens = np.fromiter(map(len, toks), np.int64, n_tok)
    cum = np.zeros(n_tok + 1, np.int64)
    np.cumsum(lens, out=cum[1:])
    return tid, n_tok, lens, cum


def _segment_fracs(segments: Sequence[str], after_first: bool = False,
                   text_len: int | None = None) -> tuple[float, float]:
    """(share of segments that are repeated, share of their characters). Every occurrence counts
    (Gopher/DCLM), or with ``after_first`` only the copies after the first (datatrove's
    ``find_duplicates``); characters over ``text_len``, or over the segments' when None."""
    if not segments:
        return 0.0, 0.0
    counts = Counter(segments)
    if len(counts) == len(segments):
        return 0.0, 0.0
    first = 1 if after_first else 0
    dup = dup_chars = 0
    for seg, c in counts.items():
        if c > 1:
            dup += c - first
            dup_chars += (c - first) * len(seg)
    den = text_len if text_len is not None else sum(map(len, segments))
    return dup / len(segments), text_units.ratio(dup_chars, den)


# Below this many tokens pure Python is faster; above it numpy is, most on long, repetitive
# pages (bench/bench_filters.py measures both). Both are exact and tested against
# DCLM's definition.
NUMPY_MIN_TOKENS = 300
_PYTHON_TAIL = 100  # repeated positions below which the remaining stages run in Python


def ngram_fracs(toks: Sequence[str]) -> dict[int, float]:
    """{n: fraction} for the top 2-4-gram and duplicated 5-10-gram character fractions."""
    toks = tuple(toks)
    if len(toks) >= NUMPY_MIN_TOKENS:
        return _ngram_fracs_numpy(toks)
    return _ngram_fracs_python(toks)


def _ngram_fracs_python(toks: tuple[str, ...]) -> dict[int, float]:
    out = dict.fromkeys(_TOP_N + _DUP_N, 0.0)
    lens = list(map(len, toks))
    total = sum(lens)
    if len(toks) < 2 or not total:
        return out
    grams: list = list(zip(toks, toks[1:]))
    counts = Counter(grams)
    # Start positions of the 2-grams that occur more than once.
    rep = list(compress(range(len(grams)), map((1).__lt__, map(counts.__getitem__, grams))))
    if rep:
        out[2] = _top_frac(counts, total)
        _python_stages(toks, lens, total, 3, rep, out)
    return out


def _python_stages(toks: tuple[str, ...], lens: list[int], total: int, first: int, rep: list[int],
                   out: dict[int, float]) -> None:  # fmt: skip
    """Stages ``first``..10, given the start positions ``rep`` of repeated (first-1)-grams."""
    for n in range(first, _DUP_N[-1] + 1):
        # An n-gram at i can repeat only if the (n-1)-grams at i and i+1 both repeat.
        starts = set(rep)
        cand = [i for i in rep if i + 1 in starts]
        grams = [toks[i : i + n] for i in cand]
        counts = Counter(grams)
        rep = [i for i, g in zip(cand, grams) if counts[g] > 1]
        if not rep:
            return
        if n <= _TOP_N[-1]:
            out[n] = _top_frac(counts, total)
        else:
            covered = bytearray(len(toks))
            ones = b"\x01" * n
            for i in rep:
                covered[i : i + n] = ones
            out[n] = sum(compress(lens, covered)) / total


def _ngram_fracs_numpy(toks: tuple[str, ...]) -> dict[int, float]:
    """Same result, vectorised, with the same pruning. Each n-gram is numbered by
    ``np.unique`` from (number of its (n-1)-gram prefix, id of its last token); numbers stay
    below the token count, so the combined keys are exact int64s (no hashing). Once few
    candidates are left, the Python stages finish (numpy's per-call cost dominates there)."""
    out = dict.fromkeys(_TOP_N + _DUP_N, 0.0)
    n_tok = len(toks)
    tid, vocab, lens, cum = _token_arrays(toks)
    total = int(cum[-1])
    if n_tok < 2 or not total:
        return out
    # A 2-gram can only repeat where both of its tokens occur more than once.
    rep = np.bincount(tid)[tid] > 1
    cand = np.flatnonzero(rep[:-1] & rep[1:])
    if not cand.size:
        return out
    gid = tid
    for n in range(2, _DUP_N[-1] + 1):
        _, inv, cnt = np.unique(gid[cand] * vocab + tid[cand + n - 1], return_inverse=True, return_counts=True)
        per_pos = cnt[inv]
        top = int(per_pos.max())
        if top <= 1:  # nothing repeats at n, so nothing longer does
            break
        starts = cand[per_pos > 1]
        if n <= _TOP_N[-1]:
            out[n] = int((cum[cand + n] - cum[cand])[per_pos == top].max()) * top / total
        else:  # covered positions: those some repeated n-gram's span reaches
            reach = np.zeros(n_tok, np.int64)
            reach[starts] = starts + n
            np.maximum.accumulate(reach, out=reach)
            out[n] = int(lens[reach > np.arange(n_tok)].sum()) / total
        if n == _DUP_N[-1]:
            break
        if len(starts) < _PYTHON_TAIL:
            _python_stages(toks, lens.tolist(), total, n + 1, starts.tolist(), out)
            break
        rep = np.zeros(n_tok - n + 1, bool)
        rep[starts] = True
        gid = np.zeros(n_tok - n + 1, np.int64)
        gid[cand] = inv
        cand = np.flatnonzero(rep[:-1] & rep[1:])
        if not cand.size:
            break
    return out


def ngram_fracs_datatrove(toks: Sequence[str], text_len: int, after_first: bool = True,
                          spaced_top: bool = True) -> dict[int, float]:  # fmt: skip
    """datatrove's top-n and dup-n character fractions over ``text_len`` characters.

    top-n with ``spaced_top``: the most frequent n-gram (the first one among those tied, even at
    one occurrence), its length with the spaces between tokens, times its count (without:
    ``ngram_fracs``'s top-n). dup-n with ``after_first``:
    datatrove's greedy scan; otherwise the union of positions covered by repeated n-grams.
    Computed with the same pruning as ``ngram_fracs`` (only n-grams whose (n-1)-grams repeat
    can repeat), so only the positions of repeated n-grams are looked at. n-grams are compared
    as token sequences (datatrove compares their concatenation, which also equates "ab c"
    with "a bc"; such collisions are not reproduced).
    """
    toks = tuple(toks)
    if len(toks) >= NUMPY_MIN_TOKENS and spaced_top:
        return _ngram_fracs_datatrove_numpy(toks, text_len, after_first)
    out = dict.fromkeys(_TOP_N + _DUP_N, 0.0)
    if not text_len:
        return out
    # Start positions of repeated (n-1)-grams; for n = 2: positions of repeated tokens.
    counts1 = Counter(toks)
    rep = [i for i, t in enumerate(toks) if counts1[t] > 1]
    _datatrove_stages(toks, list(map(len, toks)), text_len, 2, rep, out, after_first, spaced_top)
    return out


def _datatrove_stages(toks: tuple[str, ...], lens: list[int], text_len: int, first: int, rep: list[int],
                      out: dict[int, float], after_first: bool, spaced_top: bool) -> None:  # fmt: skip
    """Stages ``first``..10 of ``ngram_fracs_datatrove`` in Python, given the start positions
    ``rep`` of the repeated (first-1)-grams, in order."""
    n_tok = len(toks)
    for n in range(first, _DUP_N[-1] + 1):
        if n_tok < n:
            break
        starts = set(rep)
        cand = [i for i in rep if i + 1 in starts and i + n <= n_tok]
        grams = [toks[i : i + n] for i in cand]
        counts = Counter(grams)
        rep = [i for i, g in zip(cand, grams) if counts[g] > 1]
        if n <= _TOP_N[-1] and not spaced_top:
            out[n] = _top_frac(counts, text_len) if rep else 0.0
        elif n <= _TOP_N[-1]:
            if rep:  # the first of the most frequent (Counter.most_common keeps first-seen order)
                top = max(counts[g] for g in grams)
                first_at = next(i for i, g in zip(cand, grams) if counts[g] == top)
            else:  # nothing repeats: the first n-gram, once
                top, first_at = 1, 0
            out[n] = (sum(lens[first_at : first_at + n]) + n - 1) * top / text_len
        elif rep:
            if after_first:
                dup = 0
                seen: set = set()
                nxt = 0
                for i in rep:  # positions of unique n-grams never matter: skip them
                    if i < nxt:
                        continue
                    g = toks[i : i + n]
                    if g in seen:
                        dup += sum(lens[i : i + n])
                        nxt = i + n
                    else:
                        seen.add(g)
                out[n] = dup / text_len
            else:
                covered = bytearray(n_tok)
                ones = b"\x01" * n
                for i in rep:
                    covered[i : i + n] = ones
                out[n] = sum(compress(lens, covered)) / text_len
        if not rep and n >= _TOP_N[-1]:
            break


def _ngram_fracs_datatrove_numpy(toks: tuple[str, ...], text_len: int, after_first: bool) -> dict[int, float]:
    """``ngram_fracs_datatrove`` (with ``spaced_top``) vectorised like ``_ngram_fracs_numpy``:
    n-grams numbered by ``np.unique`` from their (n-1)-gram's number and last token, only at
    the positions where the (n-1)-grams repeat. The greedy dup-n scan stays a Python loop, over
    the positions of repeated n-grams only; once fewer than ``_PYTHON_TAIL`` n-grams repeat, the
    Python stages finish (as in ``_ngram_fracs_numpy``)."""
    out = dict.fromkeys(_TOP_N + _DUP_N, 0.0)
    n_tok = len(toks)
    if not text_len:
        return out
    tid, vocab, lens, cum = _token_arrays(toks)
    rep = np.bincount(tid)[tid] > 1  # positions of repeated 1-grams
    gid = tid
    for n in range(2, _DUP_N[-1] + 1):
        if n_tok < n:
            break
        cand = np.flatnonzero(rep[: n_tok - n + 1] & rep[1 : n_tok - n + 2])
        if cand.size:
            _, inv, cnt = np.unique(gid[cand] * vocab + tid[cand + n - 1], return_inverse=True, return_counts=True)
            per_pos = cnt[inv]
            repeated = per_pos > 1
        else:
            repeated = np.zeros(0, bool)
        if n <= _TOP_N[-1]:
            if repeated.any():  # the first n-gram of the most frequent ones
                top = int(per_pos.max())
                first = int(cand[np.argmax(per_pos == top)])
            else:
                top, first = 1, 0
            out[n] = (int(cum[first + n] - cum[first]) + n - 1) * top / text_len
        elif repeated.any():
            starts = cand[repeated]
            if after_first:
                dup, nxt, seen = 0, 0, set()
                for i, g in zip(starts.tolist(), inv[repeated].tolist()):
                    if i < nxt:
                        continue
                    if g in seen:
                        dup += int(cum[i + n] - cum[i])
                        nxt = i + n
                    else:
                        seen.add(g)
                out[n] = dup / text_len
            else:
                reach = np.zeros(n_tok, np.int64)
                reach[starts] = starts + n
                np.maximum.accumulate(reach, out=reach)
                out[n] = int(lens[reach > np.arange(n_tok)].sum()) / text_len
        else:
            if n >= _TOP_N[-1]:
                break
        if n == _DUP_N[-1]:
            break
        if cand.size and int(np.count_nonzero(repeated)) < _PYTHON_TAIL:
            # few repeated n-grams left: Python finishes faster than numpy's per-call cost
            _datatrove_stages(toks, lens.tolist(), text_len, n + 1, cand[repeated].tolist(), out, after_first, True)
            break
        rep = np.zeros(n_tok, bool)
        if cand.size:
            rep[cand[repeated]] = True
            gid = np.zeros(n_tok, np.int64)
            gid[cand] = inv
    return out


def _top_frac(counts: Counter, total: int) -> float:
    """Characters of the most frequent n-gram (the longest of those tied) times its count."""
    top = max(counts.values())
    if top <= 1:
        return 0.0
    tied = compress(counts.keys(), map(top.__eq__, counts.values()))
    return max(map(sum, map(map, repeat(len), tied))) * top / total


@dataclass(frozen=True)
class GopherRepetition(Filter):
    """Drops documents with repeated lines, paragraphs or n-grams (13 checks, see module doc)."""

    name: ClassVar[str] = "gopher_repetition"
    signal_names: ClassVar[tuple[str, ...]] = _KEYS
    # Each signal, its threshold parameter and its reason share one name.
    rules: ClassVar[tuple[Rule, ...]] = tuple(Rule(k, k, "max", k) for k in _KEYS)

    dup_line_frac: float = 0.30
    dup_para_frac: float = 0.30
    dup_line_char_frac: float = 0.20
    dup_para_char_frac: float = 0.20
    top_2gram: float = 0.20
    top_3gram: float = 0.18
    top_4gram: float = 0.16
    dup_5gram: float = 0.15
    dup_6gram: float = 0.14
    dup_7gram: float = 0.13
    dup_8gram: float = 0.12
    dup_9gram: float = 0.11
    dup_10gram: float = 0.10
    # datatrove's reading (module doc); the defaults are DCLM's
    duplicates: str = "all"  # or "after_first"
    segments: str = "stripped"  # or "raw"
    char_fractions_of: str = "units"  # or "text"
    tokens: str = "word_chars"  # or "spacy_en"

    def __post_init__(self) -> None:
        for key, allowed in (("duplicates", ("all", "after_first")), ("segments", ("stripped", "raw")),
                             ("char_fractions_of", ("units", "text")), ("tokens", ("word_chars", "spacy_en"))):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{self.name}.{key} must be one of {', '.join(allowed)}; got {getattr(self, key)!r}")
        for key in _KEYS:
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{self.name}.{key} must be a fraction in [0, 1], got {value!r}")

    def signals(self, text: str) -> dict[str, float]:
        if self.segments == "raw":
            lines, paras = _raw_lines(text), _raw_paragraphs(text)
        else:
            lines, paras = text_units.lines(text), text_units.paragraphs(text)
        text_len = len(text) if self.char_fractions_of == "text" else None
        if self.duplicates == "after_first":
            line_frac, line_chars = _segment_fracs(lines, True, text_len)
            para_frac, para_chars = _segment_fracs(paras, True, text_len)
        else:
            line_frac, line_chars = _segment_fracs(lines)
            para_frac, para_chars = _segment_fracs(paras)
            if text_len is not None:  # re-base the character shares on the whole text
                line_chars *= text_units.ratio(sum(map(len, lines)), text_len)
                para_chars *= text_units.ratio(sum(map(len, paras)), text_len)
        toks = text_units.spacy_words(text) if self.tokens == "spacy_en" else text_units.tokens(text)
        if text_len is not None or self.duplicates == "after_first":
            grams = ngram_fracs_datatrove(toks, text_len if text_len is not None else sum(map(len, toks)),
                                          after_first=self.duplicates == "after_first",
                                          spaced_top=text_len is not None)
        else:
            grams = ngram_fracs(toks)
        out = {
            "dup_line_frac": line_frac,
            "dup_para_frac": para_frac,
            "dup_line_char_frac": line_chars,
            "dup_para_char_frac": para_chars,
        }
        for n in _TOP_N:
            out[f"top_{n}gram"] = grams[n]
        for n in _DUP_N:
            out[f"dup_{n}gram"] = grams[n]
        return out
