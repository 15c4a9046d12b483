"""The shared word, line, paragraph and token views (filters/text_units.py)."""
import random

import pytest

from webrefine.filters import text_units


def test_words_are_whitespace_words():
    assert text_units.words(" a  b\tc\nd \u00a0e ") == ("a", "b", "c", "d", "e")
    assert text_units.words("") == ()


def test_word_counts_alnum_and_alpha():
    counts = text_units.word_counts("Hello, world - 2023 | #1 ___ ok!")
    # words: Hello, | world | - | 2023 | | | #1 | ___ | ok!
    assert counts.words == 8
    assert counts.alnum == 5  # Hello, world 2023 #1 ok!
    assert counts.alpha == 3  # Hello, world ok!
    assert counts.chars == len("Hello,world-2023|#1___ok!")
    assert text_units.count_alnum_words("- -- ... !!") == 0
    assert text_units.word_counts("") == (0, 0, 0, 0)


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
        assert tuple(text_units.count_words(text)) == _reference(text), repr(text)


def test_ascii_fast_path_matches_the_regexes():
    # Texts whose only non-ASCII characters are symbols take the bytes path; it must give
    # exactly what the regex path (count_words, the token regex) gives.
    rnd = random.Random(11)
    alphabet = "ab Z9_-.,'# \n\t" * 30 + "…’“—•\u00a0"
    taken = 0
    for _ in range(800):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 50)))
        text_units.clear_caches()
        taken += text_units._ascii_words(text) is not None
        assert tuple(text_units.word_counts(text)) == tuple(text_units.count_words(text)), repr(text)
        assert text_units.tokens(text) == tuple(text_units._TOKEN.findall(text)), repr(text)
    assert taken > 400
    assert text_units._ascii_words("café — ok") is None  # a non-ASCII letter: the regex path


def test_non_english_words():
    assert text_units.word_counts("Привет, мир! ١٢٣").alnum == 3
    assert text_units.word_counts("Привет, мир! ١٢٣").alpha == 2
    assert text_units.word_counts("日本語のテキストです。").alnum == 1  # no spaces: one word


def test_lines_are_stripped_and_non_empty():
    assert text_units.lines("  a \n\n \t \r\nb\r\n") == ("a", "b")
    assert text_units.lines("") == ()


def test_paragraphs_split_on_blank_lines():
    assert text_units.paragraphs("a\nb\n\nc\n \n\n d \n") == ("a\nb", "c", "d")
    assert text_units.paragraphs("\n\n") == ()


def test_tokens_start_with_alphanumeric():
    expected = ("Don", "t", "stop_me", "now", "init__", "x2", "3", "5")
    assert text_units.tokens("Don't stop_me now, __init__ x2 — 3.5") == expected  # bytes path
    assert text_units.tokens("Don't stop_me now, __init__ x2 — 3.5 日本") == expected + ("日本",)  # regex path


def test_lowered_words():
    assert text_units.lowered_words("The  CAT\nsat") == " the cat sat "


def test_views_are_cached_and_immutable():
    text = "one two\nthree"
    assert text_units.words(text) is text_units.words(text)
    assert text_units.lines(text) is text_units.lines(text)
    assert isinstance(text_units.tokens(text), tuple)


@pytest.mark.parametrize("num,den,expected", [(1, 2, 0.5), (3, 0, 0.0), (0, 0, 0.0)])
def test_ratio(num, den, expected):
    assert text_units.ratio(num, den) == expected
