"""spaCy's English token boundaries without spaCy: the words datatrove (so FineWeb) counts.

datatrove's Gopher, C4 and FineWeb filters count the tokens of ``spacy.blank("en")``:
punctuation attached to a word becomes its own token ("end." → "end", "."), contractions
split ("don't" → "do", "n't"), URLs stay whole, and the empty strings of whitespace are
dropped. Several of FineWeb's decisions depend on those counts (the alphabetic-word share
over all tokens, punctuation included, most of all). spaCy costs about 7 ms per page; this
module gives the same tokens from spaCy's own rules, copied as data into
``filters/data/spacy_en_tokenizer.json`` by ``scripts/dump_spacy_en_tokenizer.py``
(spaCy 3.8, MIT licence): prefix, suffix, infix and URL regexes and the special cases.

The algorithm is spaCy's ``Tokenizer`` (``tokenizer.pyx``: ``_split_affixes``,
``_attach_tokens``, the special-case matcher), applied to each whitespace-separated chunk;
spaCy splits on the same whitespace as ``str.split`` and its whitespace tokens are what
datatrove strips away. Like spaCy, it caches each chunk's tokens, with their word-class bits
and sentence classes (``chunk_entries``), so a page of common words costs one dict lookup per
word for its tokens, word counts and sentence classes together; the caches are bounded. The differential test
(tests/filters/test_spacy_en_tokens.py) checks the tokens against spaCy's on every chunk of
the fineweb reference texts, where spaCy's tokens were recorded.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from sys import intern
from collections import Counter
from functools import lru_cache
from itertools import chain, compress, filterfalse, islice, repeat
from operator import add, is_, itemgetter, lshift
from typing import NamedTuple, Sequence

_DATA = os.path.join(os.path.dirname(__file__), "data", "spacy_en_tokenizer.json")
# Entries per cache (chunk entries; token word classes and token sentence classes): a chunk's
# entry with its share of the token caches takes about 260 bytes (tracemalloc, the 133,800
# distinct chunks of cc-sample), so under 45 MB in all with the keys. A full cache forgets its
# older half (dicts keep insertion order), so the frequent chunks are back at once; clearing
# it all made every page after it pay the rules again (2-3 times the per-page cost).
_CACHE_MAX = 100_000
# The longest match of any suffix rule but ``\.\.+`` (checked against the rules in
# tests/filters/test_spacy_en_tokens.py).
_SUFFIX_WIDTH = 5


def _make_room(cache: dict) -> None:
    if len(cache) >= _CACHE_MAX:
        for key in list(islice(cache, _CACHE_MAX // 2)):
            del cache[key]

# datatrove's ``PUNCTUATION_SET`` (utils/text.py): a token made only of these characters is
# not a word for its word count and mean word length.
PUNCTUATION = frozenset(
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    + "".join(chr(x) for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))
)
# spaCy's Sentencizer default punct_chars: a sentence ends after one of these tokens.
SENTENCE_PUNCT = frozenset(
    "! . ? ։ ؟ ۔ ܀ ܁ ܂ ߹ । ॥ ၊ ။ ። ፧ ፨ ᙮ ᜵ ᜶ ᠃ ᠉ ᥄ ᥅ ᪨ ᪩ ᪪ ᪫ ᭚ ᭛ ᭞ ᭟ ᰻ ᰼ ᱾ ᱿ ‼ ‽ ⁇ ⁈ ⁉ ⸮ ⸼ ꓿ ꘎ ꘏ ꛳ ꛷ ꡶ ꡷ "
    "꣎ ꣏ ꤯ ꧈ ꧉ ꩝ ꩞ ꩟ ꫰ ꫱ ꯫ ﹒ ﹖ ﹗ ！ ． ？ 𐩖 𐩗 𑁇 𑁈 𑂾 𑂿 𑃀 𑃁 𑅁 𑅂 𑅃 𑇅 𑇆 𑇍 𑇞 𑇟 𑈸 𑈹 𑈻 𑈼 𑊩 𑑋 𑑌 "
    "𑗂 𑗃 𑗉 𑗊 𑗋 𑗌 𑗍 𑗎 𑗏 𑗐 𑗑 𑗒 𑗓 𑗔 𑗕 𑗖 𑗗 𑙁 𑙂 𑜼 𑜽 𑜾 𑩂 𑩃 𑪛 𑪜 𑱁 𑱂 𖩮 𖩯 𖫵 𖬷 𖬸 𖭄 𛲟 𝪈 ｡ 。".split()
)


_CLASS_ITEM = re.compile(r"\\U([0-9A-Fa-f]{8})|\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|(\\.)|(.)", re.S)
_NO_CHAR = r"[^\s\S]"


def bmp_pattern(pattern: str) -> str:
    """``pattern`` with every character above U+FFFF dropped from its character classes.

    On a string without such characters it matches exactly as ``pattern`` does, and sre then
    tests each class in a bitmap instead of scanning its list of ranges (spaCy's classes hold
    hundreds, with emoji and CJK extensions): two to three times faster. A class is ``[``,
    an optional ``^``, an optional leading ``]``, items up to the next unescaped ``]``.
    """
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if c != "[":
            out.append(c)
            i += 1
            continue
        j = i + 1
        negate = pattern.startswith("^", j)
        j += negate
        items: list[tuple[str, int]] = []  # (source text, code point or -1 for an escape class)
        first = True
        while j < n and (pattern[j] != "]" or first):
            m = _CLASS_ITEM.match(pattern, j)
            hexa = m.group(1) or m.group(2) or m.group(3)
            code = int(hexa, 16) if hexa else ord(m.group(5)) if m.group(5) else -1
            items.append((m.group(0), code))
            j = m.end()
            first = False
        kept: list[str] = []
        k = 0
        while k < len(items):
            text, code = items[k]
            if k + 2 < len(items) and items[k + 1][0] == "-" and code >= 0:  # a range
                end = items[k + 2][1]
                if code <= 0xFFFF:
                    kept.append(text + "-" + (items[k + 2][0] if end <= 0xFFFF else "\\uFFFF"))
                k += 3
                continue
            if code <= 0xFFFF:  # escape classes (\d, \s, \w) and BMP characters stay
                kept.append(text)
            k += 1
        body = "".join(kept)
        out.append(("[^" if negate else "[") + body + "]" if body else (r"[\s\S]" if negate else _NO_CHAR))
        i = j + 1
    return "".join(out)


def top_branches(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern``, as text (split at each ``|`` outside
    character classes and groups)."""
    parts, depth, start, i, n = [], 0, 0, 0, len(pattern)
    in_class, class_start = False, 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]" and i > class_start:  # a "]" right after "[" or "[^" is a member
                in_class = False
        elif c == "[":
            in_class = True
            class_start = i + 1 + pattern.startswith("^", i + 1)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and not depth:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _edge_chars(items, last: bool = False) -> set[int] | None:
    """The characters a parsed pattern can consume first (``last``: last), or None (any, not
    known, or it can match the empty string). Zero-width assertions are skipped: a superset."""
    from re import _parser as p  # the pattern parser of ``re`` (sre_parse before 3.11)

    for op, av in (reversed(items) if last else items):
        if op in (p.AT, p.ASSERT, p.ASSERT_NOT):
            continue  # zero width
        if op is p.LITERAL:
            return {av}
        if op is p.IN:
            chars: set[int] = set()
            for o, a in av:
                if o is p.LITERAL:
                    chars.add(a)
                elif o is p.RANGE:
                    chars.update(range(a[0], a[1] + 1))
                else:
                    return None
            return chars
        if op is p.SUBPATTERN and av[-1].getwidth()[0] > 0:
            return _edge_chars(av[-1].data, last)
        if op is p.BRANCH:
            sets = [_edge_chars(b.data, last) for b in av[1]]
            return None if None in sets else set().union(*sets)
        if op in (p.MAX_REPEAT, p.MIN_REPEAT) and av[0] > 0:
            return _edge_chars(av[2].data, last)
        return None
    return None


def _char_class(codes: set[int]) -> str:
    """A regex character class matching exactly the characters ``codes``, as ranges."""
    codes_sorted = sorted(codes)
    parts, i = [], 0
    while i < len(codes_sorted):
        j = i
        while j + 1 < len(codes_sorted) and codes_sorted[j + 1] == codes_sorted[j] + 1:
            j += 1
        first, last = chr(codes_sorted[i]), chr(codes_sorted[j])
        parts.append(re.escape(first) + ("-" + re.escape(last) if j > i else ""))
        i = j + 1
    return "[" + "".join(parts) + "]"


def with_first_char_guard(pattern: str) -> str:
    """``pattern`` behind a lookahead for the characters a match can start with, when they are
    known: it matches the same spans, and sre rejects every other position with one class test
    instead of trying each alternative there (spaCy's infix rule has about a hundred)."""
    try:
        from re import _parser
    except ImportError:  # Python 3.10
        return pattern
    chars = _edge_chars(_parser.parse(pattern).data)
    return f"(?={_char_class(chars)})(?:{pattern})" if chars else pattern


def anchored_at_start(pattern: str) -> bool:
    """Whether every alternative of ``pattern`` starts with ``^`` (then ``match`` finds what
    ``search`` finds, without trying the other positions)."""
    try:
        from re import _parser
    except ImportError:  # Python 3.10
        return False
    tree = _parser.parse(pattern).data
    if len(tree) == 1 and tree[0][0] is _parser.BRANCH:
        branches = [b.data for b in tree[0][1][1]]
    else:
        branches = [tree]
    return all(b and b[0] == (_parser.AT, _parser.AT_BEGINNING) for b in branches)


def suffix_searches_by_last_char(pattern: str) -> tuple[dict[str, object], object] | None:
    """For ``pattern`` (spaCy's suffix rules: alternatives anchored at the end), a search per
    last character holding only the alternatives that can end with it, and one for the other
    characters (None: no alternative can match them); None when the pattern is not understood.

    A suffix match ends at the end of the string, so only an alternative that can consume the
    string's last character can match; the leftmost start of those is the leftmost start of
    all. Each search is over a handful of alternatives instead of 82. For chunks: strings
    without whitespace (``$`` also matches before a final newline) and without characters above
    U+FFFF (``bmp_pattern`` is applied)."""
    try:
        from re import _parser
    except ImportError:  # Python 3.10
        return None
    parts = top_branches(pattern)
    tree = _parser.parse(pattern).data
    if len(tree) != 1 or tree[0][0] is not _parser.BRANCH or len(tree[0][1][1]) != len(parts):
        return None
    by_char: dict[int, list[int]] = {}
    anywhere: list[int] = []
    for k, branch in enumerate(tree[0][1][1]):
        chars = _edge_chars(branch.data, last=True)
        if chars is None:
            anywhere.append(k)
        else:
            for c in chars:
                by_char.setdefault(c, []).append(k)
    compiled: dict[tuple[int, ...], object] = {}

    def search(ks: list[int]):
        key = tuple(sorted(set(ks)))
        if key not in compiled:
            compiled[key] = re.compile("|".join(bmp_pattern(parts[k]) for k in key)).search if key else None
        return compiled[key]

    return {chr(c): search(ks + anywhere) for c, ks in by_char.items()}, search(anywhere)


class _Rules:
    def __init__(self) -> None:
        with open(_DATA, encoding="utf-8") as fh:
            data = json.load(fh)
        self.prefix = re.compile(data["prefix"]).search
        self.suffix = re.compile(data["suffix"]).search
        self.infix = re.compile(data["infix"]).finditer
        self.url = re.compile(data["url"]).match
        # The same rules for chunks without characters above U+FFFF (nearly all): faster.
        # (the infix and prefix rules behind a guard for their first characters; the prefix rule
        # is tried at the start only when every alternative is anchored there)
        bmp = {k: bmp_pattern(data[k]) for k in ("prefix", "suffix", "infix", "url")}
        bmp["infix"] = with_first_char_guard(bmp["infix"])
        bmp["prefix"] = with_first_char_guard(bmp["prefix"])  # most chunks start with a letter no rule takes
        self.bmp = tuple(re.compile(bmp[k]) for k in ("prefix", "suffix", "infix", "url"))
        self.prefix_anchored = anchored_at_start(data["prefix"])
        self.suffix_by_last = suffix_searches_by_last_char(data["suffix"])
        self.specials: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data["specials"].items()}
        # The special matcher: each key that holds an affix, as the tokens spaCy's affix rules
        # give it without special cases; a run of those tokens becomes the special case.
        self.patterns: dict[tuple[str, ...], str] = {}
        for key in data["matcher_keys"]:
            self.patterns.setdefault(self.affix_tokens(key, specials=False), key)
        self.pattern_lengths = sorted({len(p) for p in self.patterns}, reverse=True)
        # a run to replace starts with one of these tokens: the lengths of the runs that do
        self.pattern_starts: dict[str, tuple[int, ...]] = {}
        for pattern in self.patterns:
            lengths = set(self.pattern_starts.get(pattern[0], ())) | {len(pattern)}
            self.pattern_starts[pattern[0]] = tuple(sorted(lengths))
        self.cache: dict[str, tuple[str, ...]] = {}

    def affix_tokens(self, chunk: str, specials: bool = True) -> tuple[str, ...]:
        """spaCy's ``_tokenize`` of one whitespace-free chunk: affixes, specials, URL, infixes.

        These shortcuts skip regex calls that cannot match (each keeps the result; the
        differential test in tests/filters/test_spacy_en_tokens.py runs this against the
        literal transcription of spaCy's loop on generated chunks):
        - a run of letters takes no prefix, suffix or infix (every letter is checked);
        - the suffix search starts at most ``_SUFFIX_WIDTH`` characters from the end: every
          suffix rule ends at the end and is at most that long, except ``\\.\\.+``, so a
          string ending in ".." is searched whole;
        - only the suffix rules that can end with the string's last character are tried
          (``suffix_searches_by_last_char``);
        - a URL needs a "." (both host forms of the URL rule hold one);
        - letters and digits alone take no infix (every infix rule consumes punctuation
          or a symbol first).
        """
        sp = self.specials if specials else {}
        if chunk in sp:
            return sp[chunk]
        prefixes: list[str] = []
        suffixes: list[str] = []
        string = chunk
        last = -1
        by_last = None
        if chunk.isascii() or max(chunk) <= "\uffff":
            prefix_re, suffix_re, infix_re, url_re = self.bmp
            prefix_search = prefix_re.match if self.prefix_anchored else prefix_re.search
            suffix_search = suffix_re.search
            infix, url = infix_re.finditer, url_re.match
            if self.suffix_by_last is not None:
                by_last, other_last = self.suffix_by_last
        else:
            prefix_search, suffix_search, infix, url = self.prefix, self.suffix, self.infix, self.url
        while string and len(string) != last:  # _split_affixes
            if string in sp or string.isalpha():
                break
            last = len(string)
            m = prefix_search(string)
            pre_len = m.end() - m.start() if m else 0
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in sp:
                    string = minus_pre
                    prefixes.append(prefix)
                    break
            rest = string[pre_len:] if pre_len else string
            search = suffix_search if by_last is None or not rest else by_last.get(rest[-1], other_last)
            if search is None:
                m = None
            elif rest.endswith(".."):
                m = search(rest)
            else:
                m = search(rest, max(0, len(rest) - _SUFFIX_WIDTH))
            suf_len = m.end() - m.start() if m else 0
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in sp:
                    string = minus_suf
                    suffixes.append(suffix)
                    break
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        out = prefixes  # _attach_tokens
        if string:
            if string in sp:
                out.extend(sp[string])
            elif string.isalnum() or ("." in string and url(string)):
                out.append(string)
            else:
                start = 0
                for m in infix(string):
                    s, e = m.start(), m.end()
                    if s == 0:  # spaCy skips an infix at the very start
                        continue
                    if s != start:
                        out.append(string[start:s])
                    if s != e:
                        out.append(string[s:e])
                    start = e
                if string[start:]:
                    out.append(string[start:])
        out.extend(reversed(suffixes))
        return tuple(out)

    def chunk_tokens(self, chunk: str) -> tuple[str, ...]:
        # Short paths for the commonest chunks, each giving what the rules give (tested against
        # ``affix_tokens``): no English prefix, suffix, infix or URL rule matches a run of ASCII
        # letters or of digits (each needs a symbol, or letters after digits). A word with one
        # trailing , ; : ! ? loses it as a suffix, and so does a word with a final "." after a
        # lower-case letter. Special cases ("cannot", "Dr.", and "id" in "id.", which spaCy's
        # special matcher turns into "i", "d.") take the full path.
        if chunk.isalpha() and chunk not in self.specials:
            # Any letters, not only ASCII: no affix or infix rule matches a letter next to
            # letters (every Unicode letter is checked in tests/filters/test_spacy_en_tokens.py).
            return (chunk,)
        if chunk.isascii() and chunk not in self.specials:
            if chunk.isdigit():
                return (chunk,)
            word, last = chunk[:-1], chunk[-1]
            if word.isalpha() and (last in ",;:!?" or (last == "." and word[-1].islower())) \
                    and word not in self.specials:  # fmt: skip
                return (word, last)
        toks = self.affix_tokens(chunk)
        if len(toks) > 1:
            toks = self._apply_matcher(toks)
        return toks

    def _apply_matcher(self, toks: tuple[str, ...]) -> tuple[str, ...]:
        """spaCy's special matcher within one chunk: the longest runs of tokens spelling a
        special case (the earliest first among equals) become it. A run across whitespace
        never spells a key (spaCy checks the text), so chunks are independent."""
        starts = self.pattern_starts
        if starts.keys().isdisjoint(toks):
            return toks
        spans = []  # every run spelling a key: only at tokens that start one, of their lengths
        for i, tok in enumerate(toks):
            for length in starts.get(tok, ()):
                if i + length <= len(toks):
                    key = self.patterns.get(toks[i : i + length])
                    if key is not None:
                        spans.append((i, i + length, key))
        if not spans:
            return toks
        # _filter_special_spans: longest first, then the earliest; no overlap
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        taken: set[int] = set()
        chosen = []
        for s, e, key in spans:
            if s not in taken and e - 1 not in taken:
                chosen.append((s, e, key))
            taken.update(range(s, e))
        out: list[str] = []
        i = 0
        for s, e, key in sorted(chosen):
            out.extend(toks[i:s])
            out.extend(self.specials[key])
            i = e
        out.extend(toks[i:])
        return tuple(out)


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    return _Rules()


# A cached chunk: (its tokens, the sum of its tokens' word-class bits (``_token_class_bits``),
# its tokens' sentence classes (``_token_class``)). One lookup per chunk gives the three views a
# page needs (tokens, word counts, sentence classes) instead of a lookup per view and per token.
Entry = tuple[tuple[str, ...], int, str]
_TOKENS, _BITS, _SENTENCE_CLASSES = (itemgetter(i) for i in range(3))


def chunk_entries(chunks: Sequence[str]) -> list[Entry]:
    """Each chunk's ``Entry``, from the cache (one C-level pass when every chunk is known)."""
    rules = _rules()
    cache = rules.cache
    got = list(map(cache.get, chunks))
    if None not in got:
        return got
    # Only the distinct unseen chunks take a step (picked out in C). The entries already found
    # stay valid if making room forgets their chunks (entries never change).
    _make_room(cache)
    unseen = set(compress(chunks, map(is_, got, repeat(None))))
    specials = rules.specials
    # chunk_tokens' first short path, in C: a run of letters that is no special case is its own
    # token (most unseen chunks), the key itself.
    words = list(filterfalse(specials.__contains__, compress(unseen, map(str.isalpha, unseen))))
    new = dict(zip(words, zip(zip(words), map(_letters_bits, map(len, words)), repeat("o"))))
    # The other chunks go through the rules; each distinct token is classified once (and
    # remembered: most are a few punctuation marks), then the chunks' sums and strings are
    # built in C. Their tokens are interned: the same few marks in thousands of entries are
    # one object each.
    others = list(unseen.difference(new))
    # chunk_tokens' second short path, in C too: an ASCII word and one final , ; : ! ? (or "."
    # after a lower-case letter) are two tokens, when neither the chunk nor the word is a
    # special case.
    plain = list(filterfalse(specials.__contains__, filter(_WORD_AND_MARK, others)))
    word_of = map(_ALL_BUT_LAST, plain)
    plain_words = list(map(intern, word_of))
    if not specials.keys().isdisjoint(plain_words):
        keep = [w not in specials for w in plain_words]
        plain, plain_words = list(compress(plain, keep)), list(compress(plain_words, keep))
    if plain:
        marks = list(map(_LAST, plain))
        sums = map(_shared, map(add, map(_letters_bits, map(len, plain_words)), map(_MARK_BITS.__getitem__, marks)))
        new.update(zip(plain, zip(zip(plain_words, marks), sums, map(_MARK_CLASSES.__getitem__, marks))))
        others = list(unseen.difference(new))
    if others:
        chunk_tokens = rules.chunk_tokens
        tok_lists = [tuple(map(intern, chunk_tokens(chunk))) for chunk in others]
        bits, classes = _CLASSES, _TOKEN_SENTENCE_CLASSES
        _make_room(bits)
        _make_room(classes)
        distinct = set(chain.from_iterable(tok_lists))
        for tok in distinct.difference(bits):  # (word_counts fills ``bits`` alone)
            bits[tok] = _token_class_bits(tok)
        for tok in distinct.difference(classes):
            classes[tok] = _token_class(tok)
        sums = map(_shared, map(sum, map(map, repeat(bits.__getitem__), tok_lists)))
        strings = map(intern, map("".join, map(map, repeat(classes.__getitem__), tok_lists)))
        new.update(zip(others, zip(tok_lists, sums, strings)))
    cache.update(new)
    return list(map(new.get, chunks, got))  # the new entry, else the one found


_WORD_AND_MARK = re.compile(r"[A-Za-z]+[,;:!?]|[A-Za-z]*[a-z]\.").fullmatch
_ALL_BUT_LAST, _LAST = itemgetter(slice(None, -1)), itemgetter(-1)


# The entries' bits and sentence classes are shared objects (a few hundred distinct values), so
# a page's sums and joins read a few objects that stay in the CPU cache instead of one object
# per chunk scattered over the heap.
@lru_cache(maxsize=1024)
def _letters_bits(length: int) -> int:
    """``_token_class_bits`` of a run of ``length`` letters."""
    return _WORD_BITS + (length << _CHARS_SHIFT)


@lru_cache(maxsize=4096)
def _shared(value: int) -> int:
    return value  # the first object of that value


class PageTokens(NamedTuple):
    tokens: tuple[str, ...]  # every chunk's tokens, in order
    counts: TokenCounts  # word_counts(tokens)
    sentence_classes: tuple[str, ...]  # each chunk's token sentence classes (count_sentences' classes)


def page_tokens(chunks: Sequence[str]) -> PageTokens:
    """The tokens of the chunks (``text.split()``), their word counts and each chunk's sentence
    classes: one lookup per chunk."""
    entries = chunk_entries(chunks)
    toks = tuple(chain.from_iterable(map(_TOKENS, entries)))
    classes = tuple(map(_SENTENCE_CLASSES, entries))
    if len(toks) > _FIELD:  # the count fields could overflow (a chunk's own sum too): per token
        return PageTokens(toks, word_counts(toks), classes)
    total = sum(map(_BITS, entries))
    return PageTokens(toks, TokenCounts(len(toks), (total >> 21) & _FIELD, total & _FIELD, total >> _CHARS_SHIFT),
                      classes)


def _chunks_tokens(chunks: Sequence[str]) -> list[tuple[str, ...]]:
    """Each chunk's tokens."""
    return list(map(_TOKENS, chunk_entries(chunks)))


def tokens(text: str, chunks: Sequence[str] | None = None) -> tuple[str, ...]:
    """The non-whitespace tokens ``spacy.blank("en")(text)`` gives (datatrove's
    ``split_into_words``); ``chunks``: ``text.split()`` when the caller has it."""
    return tuple(chain.from_iterable(_chunks_tokens(text.split() if chunks is None else chunks)))


def count_tokens(text: str) -> int:
    """``len(tokens(text))`` without building the token list."""
    return sum(map(len, _chunks_tokens(text.split())))


class TokenCounts(NamedTuple):
    words: int  # every token
    alnum: int  # tokens with a character outside PUNCTUATION: datatrove's word count
    alpha: int  # tokens with a letter (str.isalpha)
    chars: int  # characters of the ``alnum`` tokens (datatrove's mean word length)


# Each token's class packed in one int, so a page's counts are one C-level ``sum`` over its
# tokens (no Python loop): bit 0 counts tokens with a letter, bit 21 alphanumeric-holding
# tokens, bits 42 and up the characters of the alphanumeric-holding tokens. Under 2**63 a
# value is a machine integer, and ``sum`` adds those in C without making big integers (2-3
# times faster); the two count fields cannot overflow below 2**21 tokens, and the character
# field is the top one, so it needs no bound.
_CLASSES: dict[str, int] = {}
_TOKEN_SENTENCE_CLASSES: dict[str, str] = {}  # each token's ``_token_class``, filled with _CLASSES
_ALPHA_ONE, _ALNUM_ONE, _CHARS_SHIFT = 1, 1 << 21, 42
_FIELD = (1 << 21) - 1
_WORD_BITS = _ALNUM_ONE + _ALPHA_ONE  # a run of letters, plus its length << _CHARS_SHIFT


def _token_class_bits(tok: str) -> int:
    if tok.isalpha():  # most tokens: a word with a letter (PUNCTUATION holds no letter)
        return _WORD_BITS + (len(tok) << _CHARS_SHIFT)
    is_word = not PUNCTUATION.issuperset(tok)
    # an ASCII letter is the only ASCII character with two cases
    has_alpha = tok.lower() != tok.upper() if tok.isascii() else any(map(str.isalpha, tok))
    return (_ALNUM_ONE + (len(tok) << _CHARS_SHIFT) if is_word else 0) + (_ALPHA_ONE if has_alpha else 0)


def word_counts(toks: Sequence[str], counter: Counter | None = None) -> TokenCounts:
    """datatrove's counts over the tokens (GopherQualityFilter): each distinct token is
    classified once (and remembered), so a page costs one dict lookup per token. ``counter``
    (the tokens counted) is accepted for callers that have one; it gives the same result."""
    classes = _CLASSES
    got = list(map(classes.get, toks))
    if None in got:
        _make_room(classes)
        for tok in set(toks).difference(classes):
            classes[tok] = _token_class_bits(tok)
        got = list(map(classes.__getitem__, toks))
    if len(got) > _FIELD:  # 2**21 tokens or more: the count fields could overflow, add them apart
        alnum = sum(v >> 21 & 1 for v in got)
        return TokenCounts(len(got), alnum, sum(v & 1 for v in got), sum(v >> _CHARS_SHIFT for v in got))
    total = sum(got)
    return TokenCounts(len(got), (total >> 21) & _FIELD, total & _FIELD, total >> _CHARS_SHIFT)


def clear_cache() -> None:
    """Forget the cached chunk tokenisations and token classes (benchmarks)."""
    _rules().cache.clear()
    _CLASSES.clear()
    _TOKEN_SENTENCE_CLASSES.clear()
    _shared.cache_clear()


def is_punct(token: str) -> bool:
    """spaCy's ``Token.is_punct``: every character in a Unicode punctuation category."""
    return all(unicodedata.category(c).startswith("P") for c in token)


_SPACE_RUNS = re.compile(r"(\s+)")
_MARKS = re.compile("[" + re.escape("".join(sorted(SENTENCE_PUNCT))) + "]")
# Token classes for the sentencizer: m = a sentence mark, p = other punctuation, o = anything
# else (whitespace tokens included). A sentence starts at each "o" after an "m" (punctuation
# may come between), and the scan resumes after it.
_SENTENCE_START = re.compile("m[mp]*o")


def _token_class(tok: str) -> str:
    # letters and digits are never punctuation nor a sentence mark: most tokens stop here
    return "o" if tok.isalnum() else "m" if tok in SENTENCE_PUNCT else "p" if is_punct(tok) else "o"


def _classes(chunks: Sequence[str]) -> list[str]:
    """Each chunk's token classes, from the cache."""
    return list(map(_SENTENCE_CLASSES, chunk_entries(chunks)))


def count_sentences_of_lines(line_classes: Sequence[Sequence[str]]) -> int:
    """``count_sentences(line, classes=c)`` summed over non-empty lines given by their chunks'
    sentence classes ``c``, in one scan: each line's classes end with "|", where no sentence
    start runs across. (A line without a mark holds no "m": its count is 1 either way.)"""
    return len(line_classes) + len(_SENTENCE_START.findall("|".join(map("".join, line_classes))))


def count_sentences(line: str, chunks: Sequence[str] | None = None, classes: Sequence[str] | None = None) -> int:
    """Sentences spaCy's Sentencizer finds in the stripped ``line`` (datatrove's C4 sentence
    count): a new sentence starts at the first token that is neither punctuation nor a
    sentence mark after a sentence mark (``! . ?`` and their kin); a whitespace token (a run
    of whitespace less the one plain space spaCy attaches to the token before it) can start
    one. Token classes are cached per chunk, so a line costs a split and a regex scan.
    ``chunks``: ``line.split()`` of a line whose every whitespace character is a single space
    between two chunks, when the caller has it; ``classes``: instead, those chunks' sentence
    classes (C4 slices them from the text's ``page_tokens``: no lookup at all)."""
    if "." not in line and "!" not in line and "?" not in line and (line.isascii() or not _MARKS.search(line)):
        return 0 if not line or line.isspace() else 1
    if classes is not None or chunks is not None:  # single spaces: no whitespace token
        return count_sentences_of_lines((classes if classes is not None else _classes(chunks),))
    chunks = line.split()
    if line.count(" ") == len(chunks) - 1 == len(line) - sum(map(len, chunks)):
        # every whitespace character is a single space between two chunks: no whitespace token
        classes = "".join(_classes(chunks))
    else:  # NBSP, tabs, double spaces: whitespace tokens between some chunks
        parts = _SPACE_RUNS.split(line.strip())
        got = _classes(parts[0::2])
        for i, sep in enumerate(parts[1::2]):
            if sep != " ":
                got[i] += "o"
        classes = "".join(got)
    return 1 + len(_SENTENCE_START.findall(classes))


# The final marks of chunk_entries' word-and-mark path: their tokens' word-class bits, and the
# sentence classes of the word ("o") and the mark.
_MARK_BITS = {m: _token_class_bits(m) for m in ",;:!?."}
_MARK_CLASSES = {m: intern("o" + _token_class(m)) for m in ",;:!?."}
