"""exact_substring_dedup: cut every span of at least ``min_tokens`` tokens that occurs more
than once (RefinedWeb stage 8, Lee et al. 2022's suffix-array method). Beam wiring in
pipeline/beam/substring_transforms.py; the rule in docs/rules.md (Exact-substring deduplication).

Scope: documents are spread over ``parts`` by a hash of their id (``part_of``) and each part
is deduplicated on its own, so the memory of one worker is bounded by the part's size.
``parts: auto`` (default) takes as many parts as the input needs for about ``part_tokens``
tokens each (``part_count``): one part for everything would put a whole corpus on one worker.

Per part, exactly (no sampling, no hashing of spans):
1. the documents are put in survivor order (``dedup.select.full_key``: earliest date, then
   smallest id) and their token ids are concatenated, one separator between documents;
2. a suffix array and its LCP array (libdivsufsort through ``pydivsufsort``, Kasai's LCP)
   group the suffixes by their first ``min_tokens`` tokens: the suffixes that share them
   are adjacent, and two neighbours share them when their LCP is ≥ ``min_tokens``.
   Suffixes closer than ``min_tokens`` to their document's end are left out, so no span
   crosses a document boundary;
3. each group is one ``min_tokens``-gram and its occurrences. ``repeated: keep_first``
   (default) marks every occurrence but the first in survivor order (the first document,
   and within it the first position); ``cut_all`` marks every occurrence (Lee et al.'s tool);
4. a token is cut when a marked ``min_tokens``-gram covers it. So a repeated span longer
   than ``min_tokens`` is cut whole, overlapping repeats merge, and a shorter one is never cut;
5. each run of cut tokens becomes a character range shrunk to whole characters
   (``filters/tokenizer.py``) and then to whole words: its start moves forward past a
   partial word, its end back before one, so a cut never splits a character or a word.
   The range holds no whitespace at its ends; then the whitespace after it goes too
   (before it, at the end of the text), so the words left keep one separator.

A document with something cut and fewer than ``min_words`` whitespace words left is
dropped (``exact_substring_dedup.too_short``); a document that lost nothing is never dropped.
Memory per part: the documents, plus a peak of about 50 bytes per token (token ids, the
suffix and LCP arrays, the marks; bench/bench_substring.py measures it).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import ClassVar, Iterable, NamedTuple

import numpy as np

from webrefine.dedup.select import check_rule, full_key
from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.document import Document
from webrefine.filters.stage import GlobalStage

REPEATED = ("keep_first", "cut_all")
SPAN_TEXT_CHARS = 300  # characters of a cut span kept in stats.json's sample of cut spans
AUTO = "auto"  # parts: as many as the input's tokens need (part_count)
# ≈ 1 GB of suffix-array memory per part at the measured ≈ 50 bytes per token (bench/bench_substring.py)
PART_TOKENS = 20_000_000


def part_count(total_tokens: int, part_tokens: int) -> int:
    """Parts for ``parts: auto``: enough for at most ``part_tokens`` tokens each on average,
    at least one (an empty input too)."""
    return max(1, math.ceil(total_tokens / part_tokens))


def part_of(doc_id: str, n_parts: int) -> int:
    """The part of a document among ``n_parts``: a hash of its id (the same on every worker
    and runner)."""
    if n_parts == 1:
        return 0
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_parts


@dataclass(frozen=True)
class ExactSubstringDedup(GlobalStage):
    """Cut repeated spans of ≥ ``min_tokens`` tokens; drop documents left too short."""

    name: ClassVar[str] = "exact_substring_dedup"
    reasons: ClassVar[tuple[str, ...]] = ("exact_substring_dedup.too_short",)
    signal_names: ClassVar[tuple[str, ...]] = ("chars_cut", "tokens_cut")

    min_tokens: int = 50  # spans of at least this many tokens (Lee et al.'s 50; docs/rules.md)
    tokenizer: str = tokenizers.DEFAULT  # cl100k_base | o200k_base | whitespace | path to tokenizer.json
    # documents spread over this many parts by id hash, each deduplicated alone; auto: part_count
    parts: int | str = AUTO
    part_tokens: int = PART_TOKENS  # parts: auto aims at this many tokens per part (stage's tokenizer)
    repeated: str = "keep_first"  # keep_first: the first occurrence (survivor order) stays | cut_all
    min_words: int = 50  # a document cut below this many whitespace words is dropped
    survivor: str = "earliest"  # the order that decides the first occurrence (dedup/select.py)

    def __post_init__(self) -> None:
        if self.min_tokens < 1:
            raise ValueError(f"{self.name}: min_tokens must be >= 1, got {self.min_tokens}")
        if self.parts != AUTO and (isinstance(self.parts, bool) or not isinstance(self.parts, int)
                                   or self.parts < 1):
            raise ValueError(f"{self.name}: parts must be {AUTO!r} or an integer >= 1, got {self.parts!r}")
        if isinstance(self.part_tokens, bool) or not isinstance(self.part_tokens, int) or self.part_tokens < 1:
            raise ValueError(f"{self.name}: part_tokens must be an integer >= 1, got {self.part_tokens!r}")
        if self.min_words < 0:
            raise ValueError(f"{self.name}: min_words must be >= 0, got {self.min_words}")
        if self.repeated not in REPEATED:
            raise ValueError(f"{self.name}: repeated must be one of {REPEATED}, got {self.repeated!r}")
        tokenizers.check_name(self.tokenizer, self.name)
        check_rule(self.survivor, self.name)

    def part(self, doc_id: str) -> int:
        """The part of a document when ``parts`` is a number (auto: the Beam wiring counts
        the input's tokens first, then calls ``part_of``)."""
        if self.parts == AUTO:
            raise ValueError(f"{self.name}: parts: auto needs the input's token count (part_count)")
        return part_of(doc_id, self.parts)


class Span(NamedTuple):
    """One cut range of a document: characters [start, end), and how many times the
    ``min_tokens`` tokens it starts with occur in its part."""

    start: int
    end: int
    occurrences: int


class Outcome(NamedTuple):
    """What one part did to one document (``doc`` is the input document)."""

    doc: Document
    text: str  # the text after cutting (the input text when nothing was cut)
    spans: tuple[Span, ...]
    tokens_in: int
    tokens_out: int
    dropped: bool

    @property
    def chars_cut(self) -> int:
        return len(self.doc.text) - len(self.text)

    @property
    def tokens_cut(self) -> int:
        return self.tokens_in - self.tokens_out


def repeated_tokens(ids: list[np.ndarray], k: int, keep_first: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For documents given as token id arrays, in order: per document, a bool mask of the
    tokens inside a repeated ``k``-token span, and the number of occurrences in all the
    documents of the ``k``-gram starting at each token (0 where none starts).

    Arrays are 32-bit and freed as soon as they are used (bench/bench_substring.py measures
    the peak)."""
    lengths = np.array([len(a) for a in ids], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths + 1)))  # each document then a separator
    n = int(offsets[-1])
    if n == 0 or k < 1 or int(lengths.max(initial=0)) < k:
        return [np.zeros(len(a), dtype=bool) for a in ids], [np.zeros(len(a), dtype=np.int32) for a in ids]
    if n >= 2**31 - 1:
        raise ValueError(f"a part of {n:,} tokens is too large: lower exact_substring_dedup.part_tokens or raise parts")
    ranks = _dense_ranks(np.concatenate(ids))
    ids = None  # the caller passes the only reference: free the per-document arrays now
    seq = np.zeros(n, dtype=np.uint16 if len(ranks) == 0 or ranks.max() < 2**16 else np.uint32)
    is_text = np.ones(n, dtype=bool)
    is_text[offsets[1:] - 1] = False
    seq[is_text] = ranks
    del ranks, is_text
    sa, lcp = _suffix_array_lcp(seq)
    del seq
    # A suffix has a valid k-gram when at least k tokens of its document follow it.
    doc_end = np.repeat((offsets[1:] - 1).astype(np.int32), (lengths + 1).astype(np.int64))
    valid = (doc_end[sa] - sa) >= k
    del doc_end
    # Neighbours in the suffix array share their k-gram when LCP >= k (both valid then:
    # a k-gram holding the separator cannot equal one without it).
    same_as_prev = np.zeros(n, dtype=bool)
    same_as_prev[1:] = (lcp[:-1] >= k) & valid[1:]
    del lcp
    starts = np.flatnonzero(~same_as_prev)
    del same_as_prev
    sizes = np.diff(np.append(starts, n)).astype(np.int32)
    size = np.repeat(sizes, sizes)  # per suffix: how many suffixes share its k-gram
    repeat = valid & (size > 1)
    if keep_first:  # the smallest position of a group is its first occurrence
        repeat &= sa != np.repeat(np.minimum.reduceat(sa, starts), sizes)
    del starts, sizes
    occ = np.zeros(n, dtype=np.int32)
    occ[sa[valid]] = size[valid]
    del size, valid
    # token i is cut when a repeated k-gram starts in (i - k, i]
    is_start = np.zeros(n, dtype=np.int32)
    is_start[sa[repeat]] = 1
    del sa, repeat
    started = np.cumsum(is_start, dtype=np.int32)
    del is_start
    cut = started.copy()
    cut[k:] -= started[:-k]
    del started
    cut = cut > 0
    masks, occurrences = [], []
    for i in range(len(lengths)):
        a, b = offsets[i], offsets[i] + lengths[i]
        masks.append(cut[a:b])
        occurrences.append(occ[a:b])
    return masks, occurrences


def _dense_ranks(flat: np.ndarray) -> np.ndarray:
    """Token ids → 1, 2, ... in id order (0 stays free for the separator), exactly: a lookup
    table for vocabulary ids (BPE: < 2²⁴), a sort for hashed ones (whitespace words)."""
    if len(flat) == 0:
        return flat.astype(np.int32)
    if flat.min() >= 0 and flat.max() < 1 << 24:
        present = np.zeros(int(flat.max()) + 1, dtype=bool)
        present[flat] = True
        return np.cumsum(present, dtype=np.int32)[flat]
    _, inverse = np.unique(flat, return_inverse=True)
    return (inverse + 1).astype(np.int32)


def _suffix_array_lcp(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Suffix array and lcp[i] = LCP(suffix sa[i], suffix sa[i + 1]) (0 for the last)."""
    import pydivsufsort

    seq = np.ascontiguousarray(seq)
    sa = pydivsufsort.divsufsort(seq)
    lcp = pydivsufsort.kasai(seq, sa)
    return sa, lcp


def _is_space(ch: str) -> bool:
    return ch.isspace()


def char_ranges(text: str, starts: np.ndarray, ends: np.ndarray, mask: np.ndarray,
                occurrences: np.ndarray) -> list[Span]:
    """Runs of cut tokens → character ranges that split no character and no word."""
    spans: list[Span] = []
    if not mask.any():
        return spans
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    n = len(text)
    for t0, t1 in zip(run_starts, run_ends):
        c0, c1 = int(starts[t0]), int(ends[t1 - 1])
        # a start inside a word moves to the word's end; an end inside a word to its start
        while 0 < c0 < n and not _is_space(text[c0 - 1]) and not _is_space(text[c0]):
            c0 += 1
        while 0 < c1 < n and not _is_space(text[c1 - 1]) and not _is_space(text[c1]):
            c1 -= 1
        while c0 < c1 and _is_space(text[c0]):
            c0 += 1
        while c1 > c0 and _is_space(text[c1 - 1]):
            c1 -= 1
        if c1 <= c0:
            continue
        if c0 == 0 or _is_space(text[c0 - 1]):  # one side's whitespace goes too
            while c1 < n and _is_space(text[c1]):
                c1 += 1
        if c1 == n:
            while c0 > 0 and _is_space(text[c0 - 1]):
                c0 -= 1
        if spans and c0 <= spans[-1].end:  # adjacent after widening: one range
            last = spans.pop()
            spans.append(Span(last.start, max(c1, last.end), last.occurrences))
        else:
            spans.append(Span(c0, c1, int(occurrences[t0])))
    return spans


def cut(text: str, spans: Iterable[Span]) -> str:
    pieces, at = [], 0
    for span in spans:
        pieces.append(text[at:span.start])
        at = span.end
    pieces.append(text[at:])
    return "".join(pieces)


def dedup_part(stage: ExactSubstringDedup, docs: Iterable[Document]) -> list[Outcome]:
    """Every document of one part, in survivor order, with what was cut from it."""
    tok = tokenizers.get(stage.tokenizer)
    ordered = sorted(docs, key=lambda d: full_key(d, stage.survivor))
    bounds = []

    def token_ids():
        for d in ordered:
            ids, starts, ends = tok.spans(d.text)
            bounds.append((starts.astype(np.int32), ends.astype(np.int32)))
            yield ids

    # the id arrays live only inside repeated_tokens, which frees them once concatenated
    masks, occurrences = repeated_tokens(list(token_ids()), stage.min_tokens,
                                         keep_first=stage.repeated == "keep_first")
    out = []
    for doc, (starts, ends), mask, occ in zip(ordered, bounds, masks, occurrences):
        tokens_in = len(starts)
        spans = tuple(char_ranges(doc.text, starts, ends, mask, occ))
        if not spans:
            out.append(Outcome(doc, doc.text, (), tokens_in, tokens_in, False))
            continue
        text = cut(doc.text, spans)
        dropped = len(text.split()) < stage.min_words
        out.append(Outcome(doc, text, spans, tokens_in, tok.count(text), dropped))
    return out
