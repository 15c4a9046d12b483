"""C4's cleaning rules (Raffel et al. 2020), TFDS reference values (docs/rules.md, C4 quality).

A rewriter: like TFDS ``c4_utils.clean_page``, it removes lines and drops whole documents.
Each non-empty stripped line goes through, in TFDS order:

1. a word longer than 1000 characters → line removed (``too_long_word_lines``; minified
   code, base64 blobs);
2. Wikipedia-style citations ``[1]``, ``[edit]``, ``[citation needed]`` are deleted;
3. no terminal punctuation (``. ? ! "``), or ending in "..." → line removed
   (``no_terminal_punct_lines``): C4's main proxy for "a sentence of running text";
4. fewer than 5 words → line removed (``too_few_words_lines``);
5. "lorem ipsum" → **document** dropped (placeholder pages);
6. "javascript" → line removed ("JavaScript must be enabled" notices);
7. a curly bracket → **document** dropped (probable code);
8. a policy phrase ("terms of use", "privacy policy", cookies...) → line removed;
9. otherwise the line is kept and its sentences counted.

Then a document with fewer than 3 sentences is dropped (``too_few_sentences``), and one with
no line left is dropped (``empty``, reachable only with the sentence rule disabled).

Values are TFDS's: 3 sentences and 5 words per line. datatrove's ``C4QualityFilter``
defaults to 5 and 3, swapped; FineWeb's configuration turns the terminal-punctuation
rule off (it removed ~30% of tokens), which ``filter_no_terminal_punct=False`` does here.
Like datatrove's, this stage still removes short lines when that rule is off.

For the ``fineweb`` preset, two parameters give datatrove's reading: ``sentences: spacy_en``
counts sentences as datatrove does (spaCy's sentencizer over spaCy's English tokens,
``filters.spacy_en_tokens``), and ``recount_after_citations: false`` counts a line's words
before its citations are deleted and keeps the space a deleted citation leaves.

Deviations: sentences are counted by a regex (runs of ``. ! ?`` before whitespace or the
line end, not after a one-letter initial or a common abbreviation; at least one per kept
line) instead of NLTK's punkt, which is not available offline and costs far more; counts
agree on ordinary prose. Lines are ``filters.text_units.lines`` (split on ``\\n``; TFDS uses
``splitlines``). TFDS returns at the first lorem-ipsum or curly-bracket line; here every line
is evaluated so the signals are complete, and the drop reason is chosen in the fixed order
lorem_ipsum, curly_bracket, too_few_sentences, empty.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from webrefine.filters import spacy_en_tokens, text_units
from webrefine.filters.stage import Rewriter, Rule

_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s|$)")
# Words whose trailing period does not end a sentence (a small, English, punkt-like list).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp no fig e.g i.e eg ie al approx dept est "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft a.m p.m".split()
)
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


def count_sentences(line: str) -> int:
    """Sentences in one line: runs of ``. ! ?`` before whitespace or the end, at least one.

    A lone period after a one-letter initial ("J. Smith") or a listed abbreviation ("Dr.")
    does not end a sentence.
    """
    n = 0
    for m in _SENTENCE_END.finditer(line):
        end = m.start()
        if line[end] == "." and (end + 1 == len(line) or line[end + 1] != "."):
            word = line[line.rfind(" ", 0, end) + 1 : end].lstrip("(\"'\u201c\u2018").lower()
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        n += 1
    return max(n, 1)


@lru_cache(maxsize=16)
def _any_of(phrases: tuple[str, ...]) -> re.Pattern | None:
    return re.compile("|".join(map(re.escape, phrases))) if phrases else None


@dataclass(frozen=True)
class C4Quality(Rewriter):
    """C4's line removals and document drops (see module doc); TFDS values."""

    name: ClassVar[str] = "c4_quality"
    signal_names: ClassVar[tuple[str, ...]] = (
        "too_long_word_lines", "no_terminal_punct_lines", "too_few_words_lines", "javascript_lines",
        "policy_lines", "lorem_ipsum", "curly_bracket", "sentences", "lines", "lines_kept",
    )
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("lorem_ipsum", "lorem_ipsum", "max", None, enabled_by="filter_lorem_ipsum"),
        Rule("curly_bracket", "curly_bracket", "max", None, enabled_by="filter_curly_bracket"),
        Rule("too_few_sentences", "sentences", "min", "min_num_sentences"),
        Rule("empty", "lines_kept", "min", None, fixed=1.0, note="no line left"),
    )

    min_num_sentences: int = 3  # 0 disables
    min_words_per_line: int = 5  # 0 disables
    max_word_length: int = 1000  # 0 disables
    filter_no_terminal_punct: bool = True
    end_marks: tuple[str, ...] = (".", "?", "!", '"')
    remove_citations: bool = True
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True
    policy_substrings: tuple[str, ...] = POLICY_SUBSTRINGS
    sentences: str = "regex"  # or "spacy_en": datatrove's count (spaCy's sentencizer)
    # False (datatrove): a line's words are counted before its citations are deleted, and the
    # line keeps the space a deleted citation leaves ("x = [] " stays "x = ")
    recount_after_citations: bool = True

    def __post_init__(self) -> None:
        if self.sentences not in ("regex", "spacy_en"):
            raise ValueError(f"c4_quality.sentences must be regex or spacy_en; got {self.sentences!r}")
        for key in ("min_num_sentences", "min_words_per_line", "max_word_length"):
            if getattr(self, key) < 0:
                raise ValueError(f"c4_quality.{key} must be >= 0 (0 disables), got {getattr(self, key)!r}")
        if any(not m for m in self.end_marks) or (self.filter_no_terminal_punct and not self.end_marks):
            raise ValueError("c4_quality.end_marks must be non-empty strings")
        if any(not p or p != p.lower() for p in self.policy_substrings):
            raise ValueError("c4_quality.policy_substrings must be non-empty lowercase strings")

    def rewrite(self, text: str) -> tuple[str, dict[str, float]]:
        """The cleaned text and the signals."""
        counts = dict.fromkeys(
            ("too_long_word_lines", "no_terminal_punct_lines", "too_few_words_lines", "javascript_lines",
             "policy_lines", "lorem_ipsum", "curly_bracket", "sentences"), 0)  # fmt: skip
        kept: list[str] = []
        lines = text_units.lines(text)
        # Whole-text pre-checks: most pages mention none of the phrases, so the per-line
        # lowercasing and searching are skipped (citation removal can join words, so the
        # check runs on the text without citations).
        remove_citations = self.remove_citations and "[" in text
        lowered = (_CITATION.sub("", text) if remove_citations else text).lower()
        lorem = self.filter_lorem_ipsum and "lorem ipsum" in lowered
        javascript = self.filter_javascript and "javascript" in lowered
        curly = self.filter_curly_bracket and "{" in lowered
        # (one ``in`` per phrase scans faster than the alternation regex)
        policy = None
        if self.filter_policy and any(phrase in lowered for phrase in self.policy_substrings):
            policy = _any_of(self.policy_substrings)
        per_line = lorem or javascript or policy is not None
        max_word, min_words = self.max_word_length, self.min_words_per_line
        spacy = self.sentences == "spacy_en"
        # spaCy's count needs each chunk's sentence classes: the line's are sliced from the
        # text's (one list per text, shared with the tokens) instead of splitting the line and
        # looking its chunks up. A stripped line whose only whitespace is single spaces has
        # count(" ") + 1 chunks; the other lines are split to move on, and counted as they are.
        classes, at, line_classes = (text_units.spacy_sentence_classes(text) if spacy else None), 0, None
        kept_classes: list = []  # the classes of the kept lines that have them
        end_marks = self.end_marks if self.filter_no_terminal_punct else None
        for line in lines:
            if classes is not None:
                if line.isprintable() and "  " not in line:
                    n = line.count(" ") + 1
                    line_classes = classes[at : at + n]
                else:
                    n = len(line.split())
                    line_classes = None
                at += n
            if max_word and len(line) > max_word and max(map(len, line.split())) > max_word:
                counts["too_long_word_lines"] += 1
                continue
            n_words_before = None
            if remove_citations and "[" in line:
                if self.recount_after_citations:
                    line = _CITATION.sub("", line).strip()
                    if not line:
                        counts["too_few_words_lines"] += 1
                        continue
                else:  # datatrove: words counted before, the space a citation leaves kept
                    n_words_before = len(line.split(None, min_words)) if min_words else 0
                    line = _CITATION.sub("", line)
                line_classes = None  # the line changed
            if end_marks is not None and (not line.endswith(end_marks) or line.endswith("...")):
                counts["no_terminal_punct_lines"] += 1
                continue
            if min_words and (n_words_before if n_words_before is not None else len(line_classes)
                              if line_classes is not None else len(line.split(None, min_words - 1))) < min_words:
                counts["too_few_words_lines"] += 1
                continue
            if per_line:
                lower = line.lower()
                if lorem and "lorem ipsum" in lower:
                    counts["lorem_ipsum"] += 1
                if javascript and "javascript" in lower:
                    counts["javascript_lines"] += 1
                    continue
            if curly and "{" in line:
                counts["curly_bracket"] += 1
            if per_line and policy is not None and policy.search(lower):
                counts["policy_lines"] += 1
                continue
            if not spacy:
                counts["sentences"] += count_sentences(line)
            elif line_classes is not None:  # counted together after the loop
                kept_classes.append(line_classes)
            else:
                counts["sentences"] += spacy_en_tokens.count_sentences(line)
            kept.append(line)
        if kept_classes:
            counts["sentences"] += spacy_en_tokens.count_sentences_of_lines(kept_classes)
        signals = {k: float(v) for k, v in counts.items()}
        signals["lines"] = float(len(lines))
        signals["lines_kept"] = float(len(kept))
        return "\n".join(kept), signals
