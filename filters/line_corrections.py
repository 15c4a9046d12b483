"""RefinedWeb line-wise corrections (L1-L7), a rewriter, RW profile = DCLM values
(docs/rules.md, Line corrections).

Trafilatura still leaves junk lines (social counters, navigation buttons, calls to action).
Each non-empty line goes through the rules in order; the first rule that fires is credited:

- L1 mainly uppercase: uppercase characters / all characters of the stripped line > 0.5
  (DCLM ``uppercase_ratio_line_modifier(0.5)``; "HOME ABOUT CONTACT" is 16/18) → removed;
- L2 only numerical: digit characters / all > 0.999999, i.e. every character is a digit
  (DCLM; "2023" goes, "20 23" stays) → removed;
- L3 counter: "3 likes", "1.2K views": optional non-word characters, a number with ``,``/``.``
  and an optional K/M/B, whitespace, one counter word, optional non-word characters; the
  whole line (DCLM ``counter_line_modifier``, case-insensitive) → removed;
- L4 one word: fewer than 2 whitespace words (DCLM ``line_length_modifier(min_length=2)``;
  blank lines are kept) → removed;
- L5/L6/L7 on short lines (≤ 10 words): delete a pattern at the start / end / anywhere of
  the line, with one adjacent whitespace character (DCLM ``substring_line_modifier``,
  case-insensitive); a line edited down to nothing is removed.

Document rule: drop when more than 5% of the words were removed (``removed_ratio``), where
words are the document word count of ``filters.text_units`` (whitespace words with an
alphanumeric) measured before and after this stage. Whitespace words never cross a line
break, so the words removed are summed line by line and words_after = words_before - removed.
A text left without any non-empty line is dropped as ``empty`` (DCLM also drops texts that
had no word to start with; here removed_ratio is then 0 and only ``empty`` can fire).

Signals, per rule N = 1..7: ``lN_lines`` (lines removed, or edited for L5-L7) and ``lN_words``
(words removed); ``lines_before``/``lines_after`` (non-empty lines), ``words_before``,
``words_after`` and ``removed_ratio``.

Only one example pattern per location is published; they are the defaults,
and every list is configuration. Deviations from DCLM: patterns are matched literally
(DCLM compiles "Read more..." unescaped, so its dots match anything); lines are judged
stripped (DCLM keeps " 2023" because of the space); when lines are removed, runs of blank
lines left behind are collapsed to one, keeping the ≤ 2-newline formatting of extraction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from webrefine.filters import text_units
from webrefine.filters.stage import Rewriter, Rule

_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_DIGITS = b"0123456789"
_BLANK_RUN = re.compile(r"\n{3,}")

COUNTER_WORDS = (
    "likes", "shares", "comments", "retweets", "reposts", "quotes",
    "bookmarks", "upvotes", "downvotes", "downloads", "views", "followers",
)  # fmt: skip


@lru_cache(maxsize=32)
def _compile(counter_words: tuple[str, ...], prefix: tuple[str, ...], suffix: tuple[str, ...],
             anywhere: tuple[str, ...]) -> tuple:  # fmt: skip
    """The line regexes, compiled once per process (kept out of the pickled stage): the L3
    counter; all L5-L7 patterns casefolded, for a whole-text pre-check (a case-insensitive
    regex alternation over the whole text costs far more than ``in`` on the casefolded text); then the L5, L6 and L7 regexes."""

    def alt(words: tuple[str, ...]) -> str:
        # Longest first so that a pattern that is a prefix of another cannot shadow it.
        return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"

    flags = re.IGNORECASE
    counter = re.compile(r"\W*\d[\d,.]*[kmb]?\s+" + alt(counter_words) + r"\W*", flags) if counter_words else None
    every = tuple(p.casefold() for p in prefix + suffix + anywhere)
    return (
        counter,
        every or None,
        re.compile("^" + alt(prefix) + r"\s?", flags) if prefix else None,
        re.compile(r"\s?" + alt(suffix) + "$", flags) if suffix else None,
        re.compile(r"\s?" + alt(anywhere), flags) if anywhere else None,
    )


@dataclass(frozen=True)
class LineCorrections(Rewriter):
    """Removes or edits junk lines (L1-L7); drops the document if > 5% of its words went."""

    name: ClassVar[str] = "line_corrections"
    signal_names: ClassVar[tuple[str, ...]] = (
        *(f"l{i}_{what}" for i in range(1, 8) for what in ("lines", "words")),
        "lines_before", "lines_after", "words_before", "words_after", "removed_ratio",
    )
    report_histograms: ClassVar[tuple[str, ...]] = ("words_before",)
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("removed_ratio", "removed_ratio", "max", "max_removed_ratio"),
        Rule("empty", "lines_after", "min", None, fixed=1.0, note="no line left"),
    )

    max_uppercase_ratio: float = 0.5  # L1
    max_numeric_ratio: float = 0.999999  # L2: only a line made of digits exceeds it
    counter_words: tuple[str, ...] = COUNTER_WORDS  # L3
    min_line_words: int = 2  # L4
    max_short_line_words: int = 10  # L5-L7 edit only lines with at most this many words
    prefix_patterns: tuple[str, ...] = ("sign-in",)  # L5
    suffix_patterns: tuple[str, ...] = ("read more...",)  # L6
    anywhere_patterns: tuple[str, ...] = ("items in cart",)  # L7
    max_removed_ratio: float = 0.05

    def __post_init__(self) -> None:
        for key in ("max_uppercase_ratio", "max_numeric_ratio", "max_removed_ratio"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"line_corrections.{key} must be in [0, 1], got {getattr(self, key)!r}")
        if self.min_line_words < 0 or self.max_short_line_words < 0:
            raise ValueError("line_corrections: word counts must be >= 0")
        for key in ("counter_words", "prefix_patterns", "suffix_patterns", "anywhere_patterns"):
            if any(not isinstance(p, str) or not p.strip() for p in getattr(self, key)):
                raise ValueError(f"line_corrections.{key} must hold non-empty strings")

    def rewrite(self, text: str) -> tuple[str, dict[str, float]]:
        """The corrected text and the signals (see ``LineCorrections``)."""
        counter, edit_any, *editors = _compile(
            self.counter_words, self.prefix_patterns, self.suffix_patterns, self.anywhere_patterns
        )
        if edit_any is not None:
            folded = text.casefold()
            if not any(p in folded for p in edit_any):
                editors = []  # no L5-L7 pattern anywhere in the text: skip them line by line
        max_upper, max_numeric = self.max_uppercase_ratio, self.max_numeric_ratio
        min_words, max_short = self.min_line_words, self.max_short_line_words
        cap = max(min_words, max_short)  # words are only compared with these two numbers
        n_lines = [0] * 7
        n_words = [0] * 7
        out: list[str] = []
        changed = False
        lines_before = lines_after = 0
        for raw in text.split("\n"):
            line = raw.strip()
            if not line:
                out.append("")
                continue
            lines_before += 1
            # L1/L2 count classes on the UTF-8 bytes (ASCII members, C speed). A non-ASCII
            # character takes at least two bytes, so len(bytes) - len(line) bounds the
            # non-ASCII members; only when that bound could cross a limit does the exact
            # per-character count run (É, ٣).
            size = len(line)
            encoded = line.encode("utf-8", "surrogatepass")
            extra = len(encoded) - size
            upper = len(encoded) - len(encoded.translate(None, _ASCII_UPPER))
            if extra and upper + extra > max_upper * size:
                upper = sum(map(str.isupper, line))
            digits = len(encoded) - len(encoded.translate(None, _ASCII_DIGITS))
            if extra and digits + extra > max_numeric * size:
                digits = sum(map(str.isdigit, line))
            words = 0
            if upper > max_upper * size:
                rule = 0
            elif digits > max_numeric * size:
                rule = 1
            elif counter is not None and (digits or extra) and counter.fullmatch(line):
                rule = 2
            else:
                words = len(line.split(None, cap))  # exact up to cap, cap + 1 beyond
                rule = 3 if words < min_words else -1
            if rule >= 0:
                n_lines[rule] += 1
                n_words[rule] += text_units.count_words(line).alnum
                changed = True
                continue
            if editors and words <= max_short:
                for rule, editor in enumerate(editors, start=4):
                    if editor is None:
                        continue
                    edited = editor.sub("", line).strip()
                    if edited != line:
                        n_lines[rule] += 1
                        n_words[rule] += text_units.count_words(line).alnum - text_units.count_words(edited).alnum
                        line = edited
                        changed = True
                        if not line:
                            break
                if not line:
                    continue
            lines_after += 1
            out.append(line)
        words_before = text_units.word_counts(text).alnum
        removed = sum(n_words)
        signals: dict[str, float] = {}
        for i in range(7):
            signals[f"l{i + 1}_lines"] = float(n_lines[i])
            signals[f"l{i + 1}_words"] = float(n_words[i])
        signals.update(
            lines_before=float(lines_before),
            lines_after=float(lines_after),
            words_before=float(words_before),
            words_after=float(words_before - removed),
            removed_ratio=text_units.ratio(removed, words_before),
        )
        new_text = _BLANK_RUN.sub("\n\n", "\n".join(out)).strip() if changed else text
        return new_text, signals
