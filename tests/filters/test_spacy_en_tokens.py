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
