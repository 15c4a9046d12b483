"""line_corrections: RefinedWeb's line-wise rules L1-L7 and the 5% rule (docs/rules.md, Line corrections)."""
import pickle
import random

import pytest

from webrefine.filters import text_units
from webrefine.filters.stage import apply_stage
from webrefine.filters.line_corrections import LineCorrections
from tests.filters.helpers import checked, doc

F = LineCorrections()
FILLER = " ".join(f"word{i}" for i in range(400))  # 400 words, one line, untouched


def check(text, f=F):
    v = checked(f, text)
    assert v.signals["words_before"] - v.signals["words_after"] == sum(
        v.signals[f"l{i}_words"] for i in range(1, 8)
    )
    return v


def out(text, f=F):
    """The text after corrections (the input when nothing changed)."""
    v = check(text, f)
    assert v.keep, v.reason
    return v.doc.text if v.doc is not None else text


def rule_hits(text):
    v = check(text + "\n" + FILLER)
    return {i for i in range(1, 8) if v.signals[f"l{i}_lines"]}


# --- conformance cases ---------------------------------------------------------------------
def test_l1_mainly_uppercase():
    assert rule_hits("HOME ABOUT CONTACT") == {1}  # 16/18 > 0.5


def test_l2_only_digits():
    assert rule_hits("2023") == {2}
    assert rule_hits("20 23") == set()  # a space defeats L2; two words pass L4


def test_l3_counter():
    assert rule_hits("1.2K likes") == {3}
    for line in ("3 likes", "12,345 views", "• 7 comments •", "2M Followers", "10 shares!"):
        assert rule_hits(line) == {3}, line
    assert rule_hits("3 likes and counting") == set()


def test_l4_one_word_and_blank_lines():
    assert rule_hits("Menu") == {4}
    text = "first line here\n\nsecond line here\n" + FILLER
    assert out(text) == text  # nothing removed, blank line kept


def test_conformance_200_words_11_removed_is_dropped():
    body = " ".join(f"w{i}" for i in range(189))
    junk = ["MENU", "HOME", "ABOUT", "LOGIN", "SHARE", "TWEET", "PRINT", "EMAIL", "BACK", "NEXT", "TOP"]
    v = check(body + "\n" + "\n".join(junk))  # 200 words, 11 single-word uppercase lines
    assert v.signals["words_before"] == 200 and v.signals["words_after"] == 189
    assert v.signals["removed_ratio"] == pytest.approx(0.055)
    assert v.reason == "line_corrections.removed_ratio"
    at = check(" ".join(f"w{i}" for i in range(190)) + "\n" + "\n".join(junk[:10]))
    assert at.signals["removed_ratio"] == 0.05 and at.keep  # not greater than 5%


# --- each rule, with its boundaries ---------------------------------------------------------
def test_l1_boundary():
    assert rule_hits("ABCD efg") == set()  # 4/8 = 0.5, not greater
    assert rule_hits("ABCDE fg") == {1}  # 5/8
    assert rule_hits("ГЛАВНАЯ СТРАНИЦА") == {1}  # non-ASCII uppercase
    assert rule_hits("Главная страница сайта") == set()


def test_l2_non_ascii_digits_and_numeric_ratio():
    assert rule_hits("\u0662\u0660\u0662\u0663") == {2}  # Arabic-Indic 2023
    assert rule_hits("2023.") == {4}  # one word: not all digits, L4 takes it
    f = LineCorrections(max_numeric_ratio=0.5)
    v = check("12345 ab\n" + FILLER, f)
    assert v.signals["l2_lines"] == 1


def test_l4_boundary_and_parameter():
    assert rule_hits("two words") == set()
    f = LineCorrections(min_line_words=3)
    v = check("two words\n" + FILLER, f)
    assert v.signals["l4_lines"] == 1 and v.signals["l4_words"] == 2


def test_l5_prefix_edits_short_lines_only():
    assert out("Sign-in to comment\n" + FILLER).split("\n")[0] == "to comment"
    assert out("sign-in to comment\n" + FILLER).split("\n")[0] == "to comment"
    long = "Sign-in " + " ".join(["x"] * 10)  # 11 words: not short
    assert out(long + "\n" + FILLER).split("\n")[0] == long
    short = "Sign-in " + " ".join(["x"] * 9)  # 10 words: short
    assert out(short + "\n" + FILLER).split("\n")[0] == " ".join(["x"] * 9)
    v = check("Please Sign-in here\n" + FILLER)  # not at the start
    assert v.signals["l5_lines"] == 0


def test_l6_suffix_is_escaped():
    assert out("Great story. Read more...\n" + FILLER).split("\n")[0] == "Great story."
    v = check("Great story. Read moreabc\n" + FILLER)  # the dots are literal
    assert v.signals["l6_lines"] == 0
    v = check("Read more... about it\n" + FILLER)  # not at the end
    assert v.signals["l6_lines"] == 0


def test_l7_anywhere():
    v = check("You have 3 items in cart now\n" + FILLER)
    assert v.signals["l7_lines"] == 1 and v.signals["l7_words"] == 3
    assert v.doc.text.split("\n")[0] == "You have 3 now"


def test_edited_to_nothing_is_removed():
    v = check("Read more...\n" + FILLER)
    assert v.signals["l4_lines"] == 0 and v.signals["l6_lines"] == 1
    assert v.doc.text == FILLER


def test_configurable_pattern_lists():
    f = LineCorrections(prefix_patterns=("log in", "share:"), suffix_patterns=(), anywhere_patterns=("(ad)",),
                        counter_words=("claps",))  # fmt: skip
    v = check("Log in to reply\nShare: this page now\nbest (ad) offer here\n42 claps\n1 likes\n" + FILLER, f)
    assert [v.signals[f"l{i}_lines"] for i in (3, 5, 7)] == [1, 2, 1]
    assert v.doc.text.split("\n")[:4] == ["to reply", "this page now", "best offer here", "1 likes"]


def test_removed_lines_leave_one_blank_line():
    text = "first paragraph here\n\nMENU\n\nsecond paragraph here\n" + FILLER
    assert out(text) == "first paragraph here\n\nsecond paragraph here\n" + FILLER


def test_empty_reason():
    assert check("").reason == "line_corrections.empty"
    v = check("\u2022\n---\n\n")  # no words at all, every line removed
    assert v.signals["words_before"] == 0 and v.reason == "line_corrections.empty"
    assert F.failing({"removed_ratio": 1.0, "lines_after": 0.0}) == (
        "line_corrections.removed_ratio", "line_corrections.empty",
    )


def test_one_case_per_reason():
    assert check("Menu\n" + "short text here").reason == "line_corrections.removed_ratio"
    assert check("   ").reason == "line_corrections.empty"
    assert F.reasons == ("line_corrections.removed_ratio", "line_corrections.empty")


def test_signals_keys():
    v = check(FILLER)
    assert set(v.signals) == {f"l{i}_{k}" for i in range(1, 8) for k in ("lines", "words")} | {
        "lines_before", "lines_after", "words_before", "words_after", "removed_ratio",
    }
    assert v.doc is None and v.signals["removed_ratio"] == 0.0


def test_words_after_matches_the_shared_word_count():
    rnd = random.Random(5)
    pool = ["HOME", "2023", "3 likes", "Menu", "Sign-in now", "see Read more...", "4 items in cart",
            "a normal line of text", "", "Another Line Here", "- - -", "ÉTÉ À PARIS", "x"]  # fmt: skip
    for _ in range(300):
        text = "\n".join(rnd.choice(pool) for _ in range(rnd.randint(0, 12)))
        v = LineCorrections(max_removed_ratio=1.0)(doc(text))
        if v.keep:
            new = v.doc.text if v.doc is not None else text
            assert text_units.count_alnum_words(new) == v.signals["words_after"], text


def test_rewriter_contract():
    d = doc("MENU\n" + FILLER)
    kept, v = apply_stage(F, d)
    assert d.text.startswith("MENU") and d.signals == {}  # input untouched
    assert kept.text == FILLER and kept.signals["line_corrections.l1_lines"] == 1.0


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        LineCorrections(max_removed_ratio=2.0)
    with pytest.raises(ValueError):
        LineCorrections(prefix_patterns=("",))


def test_non_english_text():
    text = "这是一个很长的中文句子，没有空格\n" + "Это обычная строка текста\n" + FILLER
    v = check(text)
    assert v.signals["l4_lines"] == 1  # a spaceless line is one whitespace word
    assert v.keep


def test_very_long_text_completes():
    text = ("A normal line of text with several words in it.\n" * 45_000) + "MENU\n"
    assert len(text) > 2_000_000
    v = check(text)
    assert v.keep and v.signals["l1_lines"] == 1 and not v.doc.text.endswith("MENU")


def test_pickles():
    assert pickle.loads(pickle.dumps(F)) == F
