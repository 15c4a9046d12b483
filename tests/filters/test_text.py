"""The shared word, line, paragraph and token views (filters/text.py)."""
import random

import pytest

from webrefine.filters import text as T


def test_words_are_whitespace_words():
    assert T.words(" a  b\tc\nd \u00a0e ") == ("a", "b", "c", "d", "e")
    assert T.words("") == ()


def test_word_counts_alnum_and_alpha():
    counts = T.word_counts("Hello, world - 2023 | #1 ___ ok!")
    # words: Hello, | world | - | 2023 | | | #1 | ___ | ok!
    assert counts.words == 8
    assert counts.alnum == 5  # Hello, world 2023 #1 ok!
    assert counts.alpha == 3  # Hello, world ok!
    assert counts.chars == len("Hello,world-2023|#1___ok!")
    assert T.count_alnum_words("- -- ... !!") == 0
    assert T.word_counts("") == (0, 0, 0, 0)


def _reference(text):
    ws = text.split()
    return (
        len(ws),
        sum(any(c.isalnum() for c in w) for w in ws),
        sum(any(c.isalpha() or (c.isalnum() and not c.isdecimal()) for c in w) for w in ws),
        sum(map(len, ws)),
    )


def test_word_counts_match_a_per_character_reference():
    rnd = random.Random(7)
    alphabet = "ab Z9_-.,#…’—é日本\u0663 \n\t\u00a0"
    for _ in range(500):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        assert tuple(T.count_words(text)) == _reference(text), repr(text)


def test_ascii_fast_path_matches_the_regexes():
    # Texts whose only non-ASCII characters are symbols take the bytes path; it must give
    # exactly what the regex path (count_words, the token regex) gives.
    rnd = random.Random(11)
    alphabet = "ab Z9_-.,'# \n\t" * 30 + "…’“—•\u00a0"
    taken = 0
    for _ in range(800):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 50)))
        T.clear_caches()
        taken += T._ascii_words(text) is not None
        assert tuple(T.word_counts(text)) == tuple(T.count_words(text)), repr(text)
        assert T.tokens(text) == tuple(T._TOKEN.findall(text)), repr(text)
    assert taken > 400
    assert T._ascii_words("café — ok") is None  # a non-ASCII letter: the regex path


def test_non_english_words():
    assert T.word_counts("Привет, мир! ١٢٣").alnum == 3
    assert T.word_counts("Привет, мир! ١٢٣").alpha == 2
    assert T.word_counts("日本語のテキストです。").alnum == 1  # no spaces: one word


def test_lines_are_stripped_and_non_empty():
    assert T.lines("  a \n\n \t \r\nb\r\n") == ("a", "b")
    assert T.lines("") == ()


def test_paragraphs_split_on_blank_lines():
    assert T.paragraphs("a\nb\n\nc\n \n\n d \n") == ("a\nb", "c", "d")
    assert T.paragraphs("\n\n") == ()


def test_tokens_start_with_alphanumeric():
    expected = ("Don", "t", "stop_me", "now", "init__", "x2", "3", "5")
    assert T.tokens("Don't stop_me now, __init__ x2 — 3.5") == expected  # bytes path
    assert T.tokens("Don't stop_me now, __init__ x2 — 3.5 日本") == expected + ("日本",)  # regex path


def test_lowered_words():
    assert T.lowered_words("The  CAT\nsat") == " the cat sat "


def test_views_are_cached_and_immutable():
    text = "one two\nthree"
    assert T.words(text) is T.words(text)
    assert T.lines(text) is T.lines(text)
    assert isinstance(T.tokens(text), tuple)


@pytest.mark.parametrize("num,den,expected", [(1, 2, 0.5), (3, 0, 0.0), (0, 0, 0.0)])
def test_ratio(num, den, expected):
    assert T.ratio(num, den) == expected
