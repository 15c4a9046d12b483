"""FineWeb's own quality rules (docs/rules.md, FineWeb quality), for the ``fineweb`` preset.

FineWeb picked these three thresholds by comparing metric histograms of a high- and a
low-quality version of the same crawl, and reports the tokens each removes (FineWeb paper
§3.6, Table 2): drop when

- at most 12% of the lines end in punctuation (``line_punct_ratio`` ≤ 0.12; 10.14% of
  tokens): menus, listings and tables rarely end their lines with a full stop;
- at least 67% of the lines are short (``short_line_ratio`` ≥ 0.67, a line of ≤ 30
  characters; 3.73%): navigation and link lists;
- at least 1% of the characters are in repeated lines (``char_dup_ratio`` ≥ 0.01; 12.47%):
  counting only the occurrences after the first, divided by the text's length without its
  newlines. The paper's §3.6 text says 0.1; Table 2 and the code say 0.01, and 0.01
  is what produced FineWeb.

``list_ratio`` (newlines / words > 0.3) is in datatrove's current code but not in the
paper; it is off by default (``filter_list_ratio``) and its signal is always reported.

Parameters give datatrove 0.10.1's reading instead (the ``fineweb`` preset sets them): with
``strip_lines: false`` lines are the non-blank lines as they are (a line's trailing space
counts, and indented copies of a line are not duplicates of it); ``strict_thresholds`` drops
only beyond a threshold (punctuated share < 0.12, short share > 0.67, duplicate share > 0.01:
0.10.1's comparisons; the paper and the April 2024 code that built FineWeb say ≤ and ≥);
``words: spacy_en`` counts list_ratio's words as spaCy tokens.

Semantics follow datatrove's ``FineWebQualityFilter`` (the code that built FineWeb) except
for the shared definitions of ``filters.text_units``: lines are the non-empty stripped lines (the
code counts blank lines as short, unpunctuated lines), and words for
``list_ratio`` are whitespace words (the code uses NLTK tokens, punctuation included, which
makes its ratio a little lower). "Short" keeps the code's ``len(line) <= 30``; the paper
says "shorter than 30 characters".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from typing import ClassVar

from webrefine.filters import text_units
from webrefine.filters.stage import Filter, Rule


@dataclass(frozen=True)
class FineWebQuality(Filter):
    """Drops documents failing FineWeb's line-punctuation, short-line or duplicate-line rules."""

    name: ClassVar[str] = "fineweb_quality"
    signal_names: ClassVar[tuple[str, ...]] = ("line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("line_punct_ratio", "line_punct_ratio", "min_le", "line_punct_thr",
             zero_exempt_by="line_punct_exclude_zero", disabled_by="strict_thresholds"),
        Rule("line_punct_ratio", "line_punct_ratio", "min", "line_punct_thr",
             zero_exempt_by="line_punct_exclude_zero", enabled_by="strict_thresholds", label="strict"),
        Rule("short_line_ratio", "short_line_ratio", "max_ge", "short_line_thr", disabled_by="strict_thresholds"),
        Rule("short_line_ratio", "short_line_ratio", "max", "short_line_thr", enabled_by="strict_thresholds",
             label="strict"),
        Rule("char_dup_ratio", "char_dup_ratio", "max_ge", "char_duplicates_ratio", disabled_by="strict_thresholds"),
        Rule("char_dup_ratio", "char_dup_ratio", "max", "char_duplicates_ratio", enabled_by="strict_thresholds",
             label="strict"),
        Rule("list_ratio", "list_ratio", "max", "new_line_ratio", enabled_by="filter_list_ratio"),
    )

    line_punct_thr: float = 0.12  # drop when the share of punctuated lines is <= this
    line_punct_exclude_zero: bool = False  # keep documents with no punctuated line at all
    stop_chars: tuple[str, ...] = (".", "'", '"', "!", "?")
    short_line_thr: float = 0.67  # drop when the share of short lines is >= this
    short_line_length: int = 30  # a line is short when it has at most this many characters
    char_duplicates_ratio: float = 0.01  # drop when the share is >= this
    filter_list_ratio: bool = False
    new_line_ratio: float = 0.3  # list_ratio: drop when newlines / words > this
    # datatrove 0.10.1's reading (module doc); the defaults are the paper's
    strip_lines: bool = True  # False: lines are the non-blank lines as they are (datatrove)
    strict_thresholds: bool = False  # True: drop only beyond a threshold (<, >), as datatrove 0.10.1
    words: str = "whitespace"  # list_ratio's words; or "spacy_en" (datatrove)

    def __post_init__(self) -> None:
        for key in ("line_punct_thr", "short_line_thr", "char_duplicates_ratio"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"fineweb_quality.{key} must be in [0, 1], got {getattr(self, key)!r}")
        if self.short_line_length < 0 or self.new_line_ratio < 0:
            raise ValueError("fineweb_quality: short_line_length and new_line_ratio must be >= 0")
        if self.words not in ("whitespace", "spacy_en"):
            raise ValueError(f"fineweb_quality.words must be whitespace or spacy_en; got {self.words!r}")
        if not self.stop_chars or any(not c for c in self.stop_chars):
            raise ValueError("fineweb_quality.stop_chars must be non-empty strings")

    def signals(self, text: str) -> dict[str, float]:
        lines = text_units.lines(text) if self.strip_lines else list(filter(str.strip, text.split("\n")))
        n = len(lines)
        short = self.short_line_length
        dup_chars = 0
        if n > 1:
            counts = Counter(lines)
            if len(counts) < n:
                dup_chars = sum((c - 1) * len(line) for line, c in counts.items() if c > 1)
        newlines = text.count("\n")
        return {
            "line_punct_ratio": text_units.ratio(sum(map(str.endswith, lines, repeat(self.stop_chars))), n),
            "short_line_ratio": text_units.ratio(sum(map(short.__ge__, map(len, lines))), n),
            "char_dup_ratio": text_units.ratio(dup_chars, len(text) - newlines),
            "list_ratio": text_units.ratio(newlines, len(text_units.spacy_words(text)) if self.words == "spacy_en"
                                           else len(text_units.words(text))),
        }
