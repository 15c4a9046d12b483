"""fineweb_quality: FineWeb's line-punctuation, short-line and duplicate-line rules (docs/rules.md, FineWeb quality)."""
import pickle

import pytest

from webrefine.filters.fineweb_quality import FineWebQuality
from tests.filters.helpers import checked

F = FineWebQuality()
PUNCT = "This line is long enough and ends with a full stop."  # 52 characters
PLAIN = "This line is long enough but has no final punctuation"  # 53 characters


def check(text, f=F):
    v = checked(f, text)
    return v


def numbered(line, i):
    return f"{line} {i:04d}" if not line.endswith(".") else f"{line[:-1]} {i:04d}."


def lines_doc(n_punct, n_plain, n_short=0):
    lines = [numbered(PUNCT, i) for i in range(n_punct)]
    lines += [numbered(PLAIN, 100 + i) for i in range(n_plain)]
    lines += [f"short {i}" for i in range(n_short)]
    return "\n".join(lines)


def test_good_document_is_kept():
    v = check(lines_doc(10, 0))
    assert v.keep
    assert v.signals == {"line_punct_ratio": 1.0, "short_line_ratio": 0.0, "char_dup_ratio": 0.0, "list_ratio": 9 / 120}


def test_line_punct_ratio_boundary():
    at = check(lines_doc(3, 22))  # 3/25 = 0.12: dropped (<=)
    assert at.signals["line_punct_ratio"] == 0.12 and at.reason == "fineweb_quality.line_punct_ratio"
    above = check(lines_doc(4, 29))  # 4/33 = 0.121
    assert above.keep


def test_line_punct_exclude_zero():
    f = FineWebQuality(line_punct_exclude_zero=True)
    assert check(lines_doc(0, 10), f).keep
    assert check(lines_doc(0, 10)).reason == "fineweb_quality.line_punct_ratio"


def test_short_line_ratio_boundary():
    v = check(lines_doc(33, 0, 67))  # 0.67: dropped (>=)
    assert v.signals["short_line_ratio"] == 0.67 and v.reason == "fineweb_quality.short_line_ratio"
    assert check(lines_doc(34, 0, 66)).keep


def test_short_means_at_most_30_characters():
    thirty, thirty_one = "x" * 29 + ".", "x" * 30 + "."
    assert check("\n".join([thirty] * 1)).signals["short_line_ratio"] == 1.0
    assert check(thirty_one).signals["short_line_ratio"] == 0.0


LINE = len(numbered(PUNCT, 0))  # 56 characters


def dup_doc(n_unique):
    dup = "Repeated line."  # 14 characters
    return "\n".join([numbered(PUNCT, i) for i in range(n_unique)] + [dup, dup])


def test_char_dup_ratio_counts_repeats_after_the_first():
    v = check(dup_doc(10))
    # one repeat of 14 chars over the text without newlines: 10 * 57 + 2 * 14
    assert LINE == 56
    assert v.signals["char_dup_ratio"] == pytest.approx(14 / (10 * LINE + 28))
    assert v.reason == "fineweb_quality.char_dup_ratio"  # 0.0234 >= 0.01


def test_char_dup_ratio_boundary():
    # 14 / (56 n + 28) >= 0.01  <=>  n <= 24.5
    assert check(dup_doc(24)).reason == "fineweb_quality.char_dup_ratio"
    assert check(dup_doc(25)).keep


def test_list_ratio_is_optional():
    text = "\n".join(f"word{i}." for i in range(30))  # one word per line
    v = check(text)
    assert v.signals["list_ratio"] == pytest.approx(29 / 30) and v.reason == "fineweb_quality.short_line_ratio"
    f = FineWebQuality(filter_list_ratio=True, short_line_length=0)
    assert check(text, f).reason == "fineweb_quality.list_ratio"
    assert check(text, FineWebQuality(short_line_length=0)).keep  # off by default


def test_one_case_per_reason():
    cases = {
        "fineweb_quality.line_punct_ratio": (F, lines_doc(1, 20)),
        "fineweb_quality.short_line_ratio": (F, lines_doc(5, 0, 20)),
        "fineweb_quality.char_dup_ratio": (F, dup_doc(5)),
        "fineweb_quality.list_ratio": (FineWebQuality(filter_list_ratio=True, new_line_ratio=0.05), lines_doc(10, 0)),
    }
    for reason, (f, text) in cases.items():
        assert check(text, f).reason == reason
    assert sorted(cases) == sorted(F.reasons)


def test_blank_lines_do_not_count():
    assert check(lines_doc(10, 0).replace("\n", "\n\n\n")).keep


def test_empty_and_non_english_documents():
    v = check("")
    assert v.reason == "fineweb_quality.line_punct_ratio" and v.signals["char_dup_ratio"] == 0.0
    chinese = "\n".join(f"这是第{i}个很长的中文句子，它以句号结尾，而且足够长，超过三十个字符没有问题吧。" for i in range(5))
    assert check(chinese).reason == "fineweb_quality.line_punct_ratio"  # "。" is not a stop char


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        FineWebQuality(char_duplicates_ratio=-0.1)
    with pytest.raises(ValueError):
        FineWebQuality(stop_chars=())


def test_very_long_text_completes():
    text = "\n".join(numbered(PUNCT, i % 10000) + f" {i}." for i in range(40_000))
    assert len(text) > 2_000_000
    assert check(text).keep


def test_pickles():
    assert pickle.loads(pickle.dumps(F)) == F


# --- datatrove 0.10.1's reading (the fineweb preset) -------------------------------------
def test_strict_thresholds_keep_documents_at_a_threshold():
    strict = FineWebQuality(strict_thresholds=True)
    assert check(lines_doc(3, 22)).reason == "fineweb_quality.line_punct_ratio"  # 0.12 <= 0.12
    assert check(lines_doc(3, 22), strict).keep  # 0.12 is not < 0.12
    assert check(lines_doc(2, 22), strict).reason == "fineweb_quality.line_punct_ratio"
    assert check(lines_doc(33, 0, 67), strict).keep  # 0.67 is not > 0.67
    assert check(lines_doc(32, 0, 68), strict).reason == "fineweb_quality.short_line_ratio"


def test_unstripped_lines_keep_indented_copies_apart():
    code = "\n".join([PUNCT + f" {i}." for i in range(20)] + ["    return x", "        return x"])
    assert check(code).signals["char_dup_ratio"] > 0  # stripped, the two lines are one line twice
    assert check(code, FineWebQuality(strip_lines=False)).signals["char_dup_ratio"] == 0.0
    # a trailing space hides the final punctuation when lines are not stripped
    text = "\n".join([PUNCT + " "] * 3 + [PLAIN])
    assert check(text, FineWebQuality(strip_lines=False)).signals["line_punct_ratio"] == 0.0
    assert check(text).signals["line_punct_ratio"] == 0.75


def test_list_ratio_over_spacy_tokens():
    text = "one, two, three\nfour, five, six"  # 1 newline; 6 whitespace words, 10 spaCy tokens
    assert check(text).signals["list_ratio"] == pytest.approx(1 / 6)
    assert check(text, FineWebQuality(words="spacy_en")).signals["list_ratio"] == pytest.approx(1 / 10)
    with pytest.raises(ValueError, match="words"):
        FineWebQuality(words="nltk")
