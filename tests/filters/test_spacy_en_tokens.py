"""spaCy's English token boundaries without spaCy, against spaCy's own tokens.

spaCy is not a dependency: ``scripts/record_fineweb_reference.py`` recorded, with spaCy 3.8
(datatrove 0.10.1's ``split_into_words`` / ``split_into_sentences``), the token list of every
reference text (its length and SHA-1) and the sentence count of every line.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from webrefine.filters import spacy_en_tokens as st

from scripts.record_fineweb_reference import read_fixture  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fineweb_reference.jsonl.gz")


@pytest.fixture(scope="module")
def rows():
    return read_fixture(FIXTURE)


def test_tokens_equal_spacys_on_every_reference_text(rows):
    wrong = []
    for row in rows:
        toks = st.tokens(row["text"])
        digest = hashlib.sha1("\x00".join(toks).encode("utf-8")).hexdigest()
        if (len(toks), digest) != (row["spacy_tokens"]["count"], row["spacy_tokens"]["sha1"]):
            wrong.append((row["id"], len(toks), row["spacy_tokens"]["count"]))
    assert sum(r["spacy_tokens"]["count"] for r in rows) > 100_000
    assert not wrong


def test_sentence_counts_equal_spacys_sentencizer_on_every_line(rows):
    lines = [ln.strip() for row in rows for ln in row["text"].splitlines() if ln.strip()]
    expected = [n for row in rows for n in row["spacy_line_sentences"]]
    assert len(lines) == len(expected) > 5_000
    got = [st.count_sentences(ln) for ln in lines]
    assert got == expected
    # with the chunks given (C4 passes them for lines whose whitespace is single spaces)
    single = [(ln, n) for ln, n in zip(lines, expected) if ln.isprintable() and "  " not in ln]
    assert len(single) > 5_000 and [st.count_sentences(ln, ln.split()) for ln, _ in single] == [n for _, n in single]
    assert max(expected) > 3  # multi-sentence lines are in the sample


@pytest.mark.parametrize("text, expected", [
    ("Don't stop.", ["Do", "n't", "stop", "."]),
    ("(see https://example.com/a?b=1), then", ["(", "see", "https://example.com/a?b=1", ")", ",", "then"]),
    ("U.S. e.g. Dr. Smith's", ["U.S.", "e.g.", "Dr.", "Smith", "'s"]),
    ("well-known 3.5 $100 \"quoted\"", ["well", "-", "known", "3.5", "$", "100", '"', "quoted", '"']),
    ("end...\n\nnext", ["end", "...", "next"]),
    ("", []),
])
def test_known_spacy_tokenisations(text, expected):
    assert list(st.tokens(text)) == expected


def test_sentences_split_after_marks_and_whitespace_tokens():
    # expectations are spaCy 3.8's (datatrove's split_into_sentences), checked by hand
    assert st.count_sentences("One. Two! Three?") == 3
    assert st.count_sentences("Mr. Smith went home.") == 1  # "Mr." is one token, not a mark
    assert st.count_sentences("Wait... what?!") == 1  # "..." is no mark; "!" after "?" is punctuation
    assert st.count_sentences("He left. (Then came back.)") == 2  # "(" is punctuation: next token starts
    assert st.count_sentences("Go.  .") == 2  # the extra space is a token, and starts a sentence
    assert st.count_sentences("Go.\t.") == 2
    assert st.count_sentences("Go. .") == 1
    assert st.count_sentences("Go.\xa0.") == 2  # a no-break space is a whitespace token too
    assert st.count_sentences("Go. \xa0x") == 2


def test_datatrove_word_counts():
    c = st.word_counts(st.tokens("Hello, world! 42 ... #tag"))
    # tokens: Hello , world ! 42 ... # tag -> words without punctuation-only tokens: Hello world 42 tag
    assert (c.words, c.alnum, c.alpha, c.chars) == (8, 4, 3, 15)


def test_token_classes_equal_their_definition():
    # datatrove's definitions, character by character, against the shortcuts of _token_class_bits
    def reference(tok):
        word = any(ch not in st.PUNCTUATION for ch in tok)
        alpha = any(ch.isalpha() for ch in tok)
        return (st._ALNUM_ONE + (len(tok) << 42) if word else 0) + (st._ALPHA_ONE if alpha else 0)

    import sys

    chars = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000]
    toks = chars + [c + "a" for c in chars[::7]] + [c + "1." for c in chars[::5]] + [c * 3 for c in chars[::11]]
    toks += list(st.PUNCTUATION) + ["...", "--", "n't", "'s", "U.S.", "e.g.", "3.5", "$", "１", "x1", "½", "Ⅻ", ""]
    assert not any(c.isalpha() for c in st.PUNCTUATION)
    assert [t for t in toks if st._token_class_bits(t) != reference(t)] == []


def test_word_counts_add_the_fields_apart_beyond_two_million_tokens(monkeypatch):
    toks = st.tokens("Hello, world! 42 ... #tag " * 3)
    small = st.word_counts(toks)
    monkeypatch.setattr(st, "_FIELD", 3)  # as if 4 tokens were 2**21: the per-field sums
    assert st.word_counts(toks) == small == (24, 12, 9, 45)
    long = "x" * (1 << 22)  # a token longer than the low fields: the character field is on top
    assert st.word_counts([long, long]) == (2, 2, 2, 1 << 23)


def test_short_paths_give_the_rules_tokens():
    import itertools
    import string

    rules = st._rules()
    words = ["".join(p) for n in (1, 2, 3) for p in itertools.product(string.ascii_lowercase + "ABZ", repeat=n)]
    words += ["cannot", "Cannot", "gonna", "whatcha", "dont", "Ive", "hello", "USA", "etc", "Dr", "Mr", "vs", "e.g",
              "Jan", "Inc", "A", "I", "U.S", "2023", "0", "1st", "10km", "3pm", "x1"]
    chunks = words + [w + end for w in words for end in ",;:!?.)'\""]
    for chunk in chunks:
        want = rules.affix_tokens(chunk)
        if len(want) > 1:
            want = rules._apply_matcher(want)
        assert rules.chunk_tokens(chunk) == want, chunk
    # spaCy 3.8's own tokens of "etc. end. id. cannot, Dr. vs." (checked by hand)
    assert list(st.tokens("etc. end. id. cannot, Dr. vs.")) == ["etc", ".", "end", ".", "i", "d.", "can", "not", ",",
                                                          "Dr.", "vs."]


def test_no_affix_rule_matches_letters_so_letter_runs_stay_whole():
    # chunk_tokens returns a run of letters (str.isalpha, any script) as one token without
    # the rules: no prefix, suffix or infix rule may match a letter next to letters.
    import sys

    rules = st._rules()
    letters = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isalpha()]
    assert len(letters) > 100_000
    for c in letters:
        for s in (c, "a" + c, c + "a", "a" + c + "a", "\u00e4" + c + c):
            assert not rules.prefix(s) and not rules.suffix(s), s
            assert all(m.start() == 0 for m in rules.infix(s)), s
    for chunk in ("Stra\u00dfe", "\u00fcber", "na\u00efve", "\u03bb\u03cc\u03b3\u03bf\u03c2", "\u0645\u0631\u062d\u0628\u0627"):
        assert rules.chunk_tokens(chunk) == rules._apply_matcher(rules.affix_tokens(chunk)) == (chunk,)


def test_full_caches_forget_their_older_half_and_stay_correct(monkeypatch):
    monkeypatch.setattr(st, "_CACHE_MAX", 100)
    st.clear_cache()
    text = " ".join(f"w{i}x," for i in range(1000))  # "w0x," -> w0x ,
    for _ in range(2):
        toks = st.tokens(text)
        assert len(toks) == 2000 and toks[:2] == ("w0x", ",")
    cache = st._rules().cache
    assert len(cache) == 1000  # one page's chunks all go in; room is made before a page's misses
    st.tokens("fresh(chunk)")
    assert len(cache) == 1000 - 50 + 1  # the oldest 50 (half of the limit) went, the new one came
    # (one page's unseen chunks go in in no set order: 50 of that page's went)
    assert sum(f"w{i}x," in cache for i in range(1000)) == 950 and "fresh(chunk)" in cache
    assert st.tokens(text)[:2] == ("w0x", ",")  # forgotten chunks come back the same
    st.clear_cache()


# The literal transcription of spaCy's ``Tokenizer._split_affixes``, ``_attach_tokens`` and the
# special matcher, without any shortcut: the reference the fast paths of ``chunk_tokens`` must
# reproduce on every chunk.
def _reference_affix_tokens(rules, chunk: str) -> tuple[str, ...]:
    sp = rules.specials
    if chunk in sp:
        return sp[chunk]
    prefixes, suffixes, string, last = [], [], chunk, -1
    while string and len(string) != last:
        if string in sp:
            break
        last = len(string)
        m = rules.prefix(string)
        pre_len = m.end() - m.start() if m else 0
        if pre_len:
            prefix, minus_pre = string[:pre_len], string[pre_len:]
            if minus_pre and minus_pre in sp:
                string = minus_pre
                prefixes.append(prefix)
                break
        m = rules.suffix(string[pre_len:])
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
    out = prefixes
    if string:
        if string in sp:
            out.extend(sp[string])
        elif rules.url(string):
            out.append(string)
        else:
            start = 0
            for m in rules.infix(string):
                s, e = m.start(), m.end()
                if s == 0:
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


def _reference_matcher(rules, toks: tuple[str, ...]) -> tuple[str, ...]:
    spans = []
    for length in rules.pattern_lengths:
        for i in range(len(toks) - length + 1):
            key = rules.patterns.get(toks[i : i + length])
            if key is not None:
                spans.append((i, i + length, key))
    spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken, chosen = set(), []
    for s, e, key in spans:
        if s not in taken and e - 1 not in taken:
            chosen.append((s, e, key))
        taken.update(range(s, e))
    out, i = [], 0
    for s, e, key in sorted(chosen):
        out.extend(toks[i:s])
        out.extend(rules.specials[key])
        i = e
    out.extend(toks[i:])
    return tuple(out)


def _reference_chunk_tokens(rules, chunk: str) -> tuple[str, ...]:
    return _reference_matcher(rules, _reference_affix_tokens(rules, chunk))


_PIECES = (
    "a I the of Dr Mr vs etc e.g i.e U.S US USA dont don t s ll re ve em n nt cannot gonna id Ive am pm 10a.m "
    "km 5km 10 3.5 1,000 1987 2nd x1 AMP React js com www example http https co uk org ftp localhost mailto "
    "user@host 192.168.1.1 10.0.0.1 Straße naïve λόγος Привет 日本語 ١٢٣ ² ½ Ⅻ"
).split()
_MARKS = list(".,;:!?'\"()[]{}<>-–—~/\\*&^%$#@+=_`|’‘“”…«»°€£¥©™·•¿¡＄，。😀◆")
_MARKS += ["...", "--", "'s", "’s", "n't", "://", ".com", "US$", "C$", "......", "........"]


def _generated_chunks(n: int, seed: int = 18) -> list[str]:
    import random

    rng = random.Random(seed)
    rules = st._rules()
    keys = sorted(k for k in rules.specials if k and not any(c.isspace() for c in k))
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 5)):
            r = rng.random()
            parts.append(rng.choice(_MARKS) if r < 0.45 else rng.choice(keys) if r < 0.6 else rng.choice(_PIECES))
        out.append("".join(parts))
    return out


def test_chunk_tokens_equal_the_literal_transcription_on_generated_chunks():
    # Every shortcut of ``affix_tokens`` and ``chunk_tokens`` against spaCy's loop as written,
    # on chunks glued from punctuation, special cases, URLs, numbers, units and other scripts.
    rules = st._rules()
    chunks = _generated_chunks(40_000)
    wrong = [(c, rules.chunk_tokens(c), _reference_chunk_tokens(rules, c)) for c in chunks
             if rules.chunk_tokens(c) != _reference_chunk_tokens(rules, c)]
    assert not wrong[:20]
    # the generated chunks reach every path: specials, URLs, infixes, matcher runs
    affixed = [_reference_affix_tokens(rules, c) for c in chunks]
    assert sum(len(t) > 3 for t in affixed) > 2_000
    assert sum(bool(rules.url(c)) for c in chunks) > 50
    assert sum(any(rules.infix(c)) for c in chunks) > 3_000
    assert sum(_reference_matcher(rules, t) != t for t in affixed) > 100


def test_chunk_tokens_equal_the_literal_transcription_on_reference_chunks(rows):
    rules = st._rules()
    chunks = sorted({c for row in rows for c in row["text"].split()})
    assert len(chunks) > 20_000
    assert [c for c in chunks if rules.chunk_tokens(c) != _reference_chunk_tokens(rules, c)] == []


def _branches(pattern: str):
    from re import _parser

    tree = _parser.parse(pattern)
    items = [i for i in tree.data if i[0] is not _parser.AT]  # prefix: ^ before the branch
    assert len(items) == 1 and items[0][0] is _parser.BRANCH
    return items[0][1][1]


def _first_chars(items) -> set[str]:
    """Characters a pattern can consume first (fails on a construct it does not know)."""
    from re import _parser as p

    for op, av in items:
        if op in (p.ASSERT, p.ASSERT_NOT, p.AT):
            continue  # zero width
        if op is p.LITERAL:
            return {chr(av)}
        if op is p.IN:
            chars = set()
            for o, a in av:
                assert o in (p.LITERAL, p.RANGE), o
                chars.update(chr(a) if o is p.LITERAL else map(chr, range(a[0], a[1] + 1)))
            return chars
        if op is p.SUBPATTERN:
            assert av[-1].getwidth()[0] > 0
            return _first_chars(av[-1].data)
        if op is p.BRANCH:
            return set().union(*(_first_chars(b.data) for b in av[1]))
        if op in (p.MAX_REPEAT, p.MIN_REPEAT):
            assert av[0] >= 1
            return _first_chars(av[2].data)
        raise AssertionError(f"unhandled {op}")
    raise AssertionError("zero-width branch")


def test_the_shortcuts_follow_from_the_rules():
    import json
    import re

    with open(st._DATA, encoding="utf-8") as fh:
        data = json.load(fh)
    # suffix: every rule is anchored at the end, at most _SUFFIX_WIDTH long, but \.\.+
    branches = _branches(data["suffix"])
    long = [b for b in branches if b.getwidth()[1] > st._SUFFIX_WIDTH]
    assert len(long) == 1 and repr(long[0].data) == repr(_branches(r"\.\.+$|x")[0].data)
    assert re.compile(r"(?<=[0-9])km$").search("5km", 1)  # a search from pos still looks behind it
    # infix: every rule consumes a character that is neither a letter nor a digit first
    first = set().union(*(_first_chars(b.data) for b in _branches(data["infix"])))
    assert "-" in first and "," in first and not any(c.isalnum() for c in first)
    # url: no match without a "."
    rules = st._rules()
    dotless = [c.replace(".", "") for c in _generated_chunks(5_000, seed=7)]
    dotless += ["http://localhost", "user@localhost", "https://examplecom/a", "1921681010", "www"]
    assert not [c for c in dotless if rules.url(c)]
    assert rules.url("example.com") and rules.url("https://www.example.org/a?b=1")


_BMP = "".join(map(chr, range(0x10000)))


def _bmp_members(items) -> frozenset:
    """The characters up to U+FFFF a parsed class (``IN`` items) matches."""
    from re import _parser as p

    chars, negate = set(), False
    for op, av in items:
        if op is p.NEGATE:
            negate = True
        elif op is p.LITERAL:
            chars.add(av)
        elif op is p.RANGE:
            chars.update(range(av[0], min(av[1], 0xFFFF) + 1))
        elif op is p.CATEGORY:
            name = {p.CATEGORY_DIGIT: r"\d", p.CATEGORY_NOT_DIGIT: r"\D", p.CATEGORY_SPACE: r"\s",
                    p.CATEGORY_NOT_SPACE: r"\S", p.CATEGORY_WORD: r"\w", p.CATEGORY_NOT_WORD: r"\W"}[av]
            chars.update(map(ord, __import__("re").findall(name, _BMP)))
        else:
            raise AssertionError(op)
    chars = {c for c in chars if c <= 0xFFFF}
    return frozenset(set(range(0x10000)) - chars if negate else chars)


def _same_on_bmp(a, b) -> None:
    """Two parsed patterns are the same but for their classes, which agree up to U+FFFF."""
    from re import _parser as p

    assert len(a) == len(b)
    for (op_a, av_a), (op_b, av_b) in zip(a, b):
        assert op_a is op_b, (op_a, op_b)
        if op_a is p.IN:
            assert _bmp_members(av_a) == _bmp_members(av_b)
        elif op_a is p.BRANCH:
            assert len(av_a[1]) == len(av_b[1])
            for x, y in zip(av_a[1], av_b[1]):
                _same_on_bmp(x.data, y.data)
        elif op_a is p.SUBPATTERN:
            assert av_a[:3] == av_b[:3]
            _same_on_bmp(av_a[3].data, av_b[3].data)
        elif op_a in (p.MAX_REPEAT, p.MIN_REPEAT):
            assert av_a[:2] == av_b[:2]
            _same_on_bmp(av_a[2].data, av_b[2].data)
        elif op_a in (p.ASSERT, p.ASSERT_NOT):
            assert av_a[0] == av_b[0]
            _same_on_bmp(av_a[1].data, av_b[1].data)
        else:
            assert av_a == av_b, (op_a, av_a, av_b)


def test_bmp_patterns_match_as_the_rules_on_strings_without_astral_characters():
    import json
    import random
    import re
    from re import _parser

    with open(st._DATA, encoding="utf-8") as fh:
        data = json.load(fh)
    for key in ("prefix", "suffix", "infix", "url"):
        bmp = st.bmp_pattern(data[key])
        assert len(bmp) < len(data[key])  # astral ranges were there and went
        _same_on_bmp(_parser.parse(data[key]).data, _parser.parse(bmp).data)
    # and on generated strings, through the compiled patterns
    rules = st._rules()
    rng = random.Random(5)
    sample = [c for c in _generated_chunks(3_000) if max(c) <= "\uffff"]
    sample += ["".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(1, 8))) for _ in range(3_000)]
    prefix, suffix, infix, url = rules.bmp
    for s in sample:
        assert [m.span() for m in infix.finditer(s)] == [m.span() for m in rules.infix(s)], s
        for fast, slow in ((prefix.search, rules.prefix), (suffix.search, rules.suffix), (url.match, rules.url)):
            a, b = fast(s), slow(s)
            assert (a and a.span()) == (b and b.span()), s
    assert st.bmp_pattern(r"a[\U0001F600-\U0001F64F]b[^\U00010000]c[x-\U00010000\]]") == r"a[^\s\S]b[\s\S]c[x-\uFFFF\]]"
    assert re.compile(st.bmp_pattern(r"[\U0001F600]|x")).findall("x\U0001F600") == ["x"]


def test_suffix_searches_by_last_character_find_what_the_whole_rule_finds():
    import json
    import re

    with open(st._DATA, encoding="utf-8") as fh:
        data = json.load(fh)
    for key in ("suffix", "infix"):
        parts = st.top_branches(data[key])
        assert "|".join(parts) == data[key] and len(parts) == len(_branches(data[key]))
    assert st.top_branches(r"a|[|\]](b|c)|\||[]|]d") == ["a", r"[|\]](b|c)", r"\|", "[]|]d"]
    by_last, other = st._rules().suffix_by_last
    whole = re.compile(st.bmp_pattern(data["suffix"])).search
    contexts = ["", "a", "A", "5", "\u00b0F", "AB", "x\u2019", "5k", "..", "a.b", "U.S"]
    wrong = []
    for code in range(0x10000):
        c = chr(code)
        if c.isspace():  # chunks hold no whitespace ("$" also matches before a final "\n")
            continue
        search = by_last.get(c, other)
        for ctx in contexts:
            s = ctx + c
            want = whole(s)
            got = search(s) if search is not None else None
            if (want and want.span()) != (got and got.span()):
                wrong.append(s)
    assert wrong == []
    assert other is None and len(by_last) > 1000


def _entries_reference(chunks):
    """Each chunk's entry built per chunk from its definitions: the rules' tokens, the sum of
    their word-class bits, their sentence classes."""
    rules = st._rules()
    out = []
    for chunk in chunks:
        toks = rules.chunk_tokens(chunk)
        out.append((toks, sum(map(st._token_class_bits, toks)), "".join(map(st._token_class, toks))))
    return out


def test_chunk_entries_equal_their_definition_from_an_empty_and_a_warm_cache(rows):
    # chunk_entries builds the entries of unseen runs of letters in C, the others through the
    # rules with each token classified once, and merges them with the entries found: the
    # same entries as chunk by chunk, whatever the cache holds.
    texts = [row["text"] for row in rows]
    for warm in (False, True):
        st.clear_cache()
        if warm:  # every other text seen: pages mix known and unseen chunks
            for text in texts[::2]:
                st.chunk_entries(text.split())
        for text in texts[1::2] if warm else texts:
            chunks = text.split()
            assert st.chunk_entries(chunks) == _entries_reference(chunks)
    # the C-level paths meet letters that are special cases, non-ASCII letters, words with a
    # final mark whose word or whole chunk is a special case, and generated chunks
    chunks = ["cannot", "Cannot", "gonna", "dont", "id", "Straße", "naïve", "word", "word", "x,", "hello,", "Hello.",
              "HELLO.", "etc.", "Dr.", "Jan.", "a.", "cannot,", "dont.", "id.", "end!", "hi?", "x1,", "naïve,", "A,"]
    chunks += [c for c in _generated_chunks(5_000, seed=21)]
    chunks += [w + m for w in ("the", "I", "Mr", "gonna", "ca", "Ill", "Its", "its") for m in ",;:!?."]
    st.clear_cache()
    got = st.chunk_entries(chunks)
    assert got == _entries_reference(chunks)
    assert [e[0] for e in got[:4]] == [("can", "not"), ("Can", "not"), ("gon", "na"), ("do", "nt")]
    assert got[chunks.index("cannot,")][0] == ("can", "not", ",") and got[chunks.index("hello,")][0] == ("hello", ",")


def test_chunk_entries_keep_the_entries_found_when_the_cache_forgets(monkeypatch):
    monkeypatch.setattr(st, "_CACHE_MAX", 10)
    st.clear_cache()
    first = [f"w{i}x," for i in range(30)]
    st.chunk_entries(first)
    # a page of the known chunks and new ones: making room forgets known chunks that the
    # page's first lookup found; their entries still come back
    page = first + ["fresh(chunk)", "more", "words."]
    assert st.chunk_entries(page) == _entries_reference(page)
    assert "fresh(chunk)" in st._rules().cache and len(st._rules().cache) < 30
    st.clear_cache()


def test_page_tokens_equal_the_per_token_views(rows, monkeypatch):
    from webrefine.filters import text_units

    rules = st._rules()
    for row in rows[:60]:
        text = row["text"]
        page = st.page_tokens(text.split())
        assert page.tokens == st.tokens(text)
        assert page.counts == st.word_counts(page.tokens)
        want = tuple("".join(map(st._token_class, rules.chunk_tokens(c))) for c in text.split())
        assert page.sentence_classes == want
        assert text_units.spacy_words(text) == page.tokens
        assert text_units.spacy_word_counts(text) == page.counts
        assert text_units.spacy_sentence_classes(text) == page.sentence_classes
    assert st.page_tokens([]) == ((), (0, 0, 0, 0), ())
    # beyond 2**21 tokens the counts are added per token (the chunk sums could overflow)
    chunks = "Hello, world! 42 ... #tag".split() * 3
    monkeypatch.setattr(st, "_FIELD", 3)
    assert st.page_tokens(chunks).counts == st.word_counts(st.tokens(" ".join(chunks))) == (24, 12, 9, 45)


def test_sentence_counts_from_sliced_classes_equal_the_counts_of_the_line(rows):
    lines = [ln.strip() for row in rows for ln in row["text"].splitlines() if ln.strip()]
    single = [ln for ln in lines if ln.isprintable() and "  " not in ln]
    assert len(single) > 5_000
    got = [st.count_sentences(ln, classes=st.page_tokens(ln.split()).sentence_classes) for ln in single]
    assert got == [st.count_sentences(ln) for ln in single]


def test_guarded_infix_and_anchored_prefix_find_what_the_rules_find():
    import json
    import random
    import re

    with open(st._DATA, encoding="utf-8") as fh:
        data = json.load(fh)
    rules = st._rules()
    # the bmp infix and prefix rules carry the first-character guard (compared with the plain
    # rules on generated strings in test_bmp_patterns_match_as_the_rules_on_strings_without_astral_characters)
    assert rules.bmp[2].pattern.startswith("(?=[") and rules.bmp[2].pattern != st.bmp_pattern(data["infix"])
    assert rules.bmp[0].pattern.startswith("(?=[")  # the prefix rule too
    assert rules.prefix_anchored and st.anchored_at_start(data["prefix"])
    assert not st.anchored_at_start("^a|b") and not st.anchored_at_start("a") and st.anchored_at_start("^a|^b")
    rng = random.Random(3)
    sample = [c for c in _generated_chunks(5_000, seed=11) if max(c) <= "\uffff"]
    sample += ["".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(1, 8))) for _ in range(3_000)]
    prefix = rules.bmp[0]
    for s in sample:
        a, b = prefix.match(s), prefix.search(s)
        assert (a and a.span()) == (b and b.span()), s
    # the guard: the same spans, or no guard where a match may start anywhere or be empty
    for pattern, text in ((r"(?<=[a-z])-(?=[a-z])|\.\.+|[,;]", "a-b.. c,d;-x"), (r"(?:x+|z)y", "xyyxzyxxy")):
        guarded = st.with_first_char_guard(pattern)
        assert guarded.startswith("(?=[")
        assert [m.span() for m in re.finditer(guarded, text)] == [m.span() for m in re.finditer(pattern, text)]
    assert st.with_first_char_guard(r"a|\w") == r"a|\w" and st.with_first_char_guard("a*") == "a*"
    assert st.with_first_char_guard("x?y") == "x?y"  # "y" may come first: no guard


def test_sentence_counts_of_lines_are_the_sum_of_each_lines_count(rows):
    lines = [ln.strip() for row in rows for ln in row["text"].splitlines() if ln.strip()]
    single = [ln for ln in lines if ln.isprintable() and "  " not in ln]
    classes = [st.page_tokens(ln.split()).sentence_classes for ln in single]
    want = [st.count_sentences(ln) for ln in single]
    assert sum(want) > len(single)  # lines with several sentences are there
    assert st.count_sentences_of_lines(classes) == sum(want)
    for k in range(0, len(single), 97):  # and on runs of lines, where a start might run across
        assert st.count_sentences_of_lines(classes[k : k + 5]) == sum(want[k : k + 5])
    assert st.count_sentences_of_lines([]) == 0
    assert st.count_sentences_of_lines([("o", "m"), ("o",)]) == 2  # "m" ends one line, "o" starts the next: no start
