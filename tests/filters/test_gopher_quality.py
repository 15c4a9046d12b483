"""gopher_quality: Gopher's seven quality rules, RW profile (docs/rules.md, Gopher quality)."""
import pickle

import pytest

from webrefine.filters.gopher_quality import GopherQuality
from tests.filters.helpers import checked, doc

F = GopherQuality()
STOP = "the cat and a dog"  # 5 words, 2 stop words


def check(text, f=F):
    v = checked(f, text)
    return v


def prose(n_words):
    """n ordinary words (5 characters each after the first sentence's stop words)."""
    words = STOP.split() + [f"wordy{chr(97 + i % 26)}" for i in range(max(0, n_words - 5))]
    return " ".join(words[:n_words])


def test_good_document_is_kept_with_all_signals():
    v = check(prose(120))
    assert v.keep
    assert v.signals["word_count"] == 120.0
    assert set(v.signals) == {
        "word_count", "mean_word_len", "hash_ratio", "ellipsis_ratio", "symbol_ratio",
        "bullet_lines_ratio", "ellipsis_lines_ratio", "alpha_words_ratio", "stop_words",
    }


def test_conformance_49_words_is_too_short():
    # 49 words containing an alphanumeric.
    assert check(prose(49)).reason == "gopher_quality.word_count_low"
    assert check(prose(50)).keep


def test_word_count_ignores_words_without_alphanumerics():
    v = check(prose(49) + " - | --")
    assert v.signals["word_count"] == 49.0 and v.reason == "gopher_quality.word_count_low"


def test_word_count_high_boundary():
    f = GopherQuality(max_words=200)
    assert check(prose(200), f).keep
    assert check(prose(201), f).reason == "gopher_quality.word_count_high"


def test_word_count_high_default_is_100000():
    assert check(prose(100_000)).keep
    assert check(prose(100_001)).reason == "gopher_quality.word_count_high"


def test_mean_word_len_low_boundary():
    low = " ".join(["the", "and", "cat"] * 20)  # mean exactly 3
    v = check(low)
    assert v.signals["mean_word_len"] == 3.0 and v.keep
    v = check(low + " is")
    assert v.signals["mean_word_len"] < 3 and v.reason == "gopher_quality.mean_word_len"


def test_mean_word_len_exactly_ten_is_kept():
    text = " ".join(["the", "and"] + ["abcdefghijk"] * 46 + ["abcdefghijklmnopqrst"] * 2)
    # (3 + 3 + 46*11 + 2*20) / 50 = 552/50 = 11.04: too long
    assert check(text).reason == "gopher_quality.mean_word_len"
    text = " ".join(["the", "and"] + ["abcdefghij"] * 46 + ["abcdefghijklmnopq"] * 2)
    # (6 + 460 + 34) / 50 = 10.0
    v = check(text)
    assert v.signals["mean_word_len"] == 10.0 and v.keep


def test_hash_ratio_boundary():
    base = prose(100).split()
    at = " ".join(["#" + w if i >= 90 else w for i, w in enumerate(base)])
    assert check(at).signals["hash_ratio"] == 0.1 and check(at).keep
    above = " ".join(["#" + w if i >= 89 else w for i, w in enumerate(base)])
    assert check(above).reason == "gopher_quality.hash_ratio"


def test_ellipsis_ratio_counts_all_three_spellings():
    base = prose(100).split()
    marks = ["...", "\u2026"]
    at = " ".join([w + marks[i % 2] if 80 <= i < 90 else w for i, w in enumerate(base)])
    v = check(at)
    assert v.signals["ellipsis_ratio"] == pytest.approx(0.1) and v.keep
    above = " ".join([w + marks[i % 2] if 79 <= i < 90 else w for i, w in enumerate(base)])
    assert check(above).reason == "gopher_quality.ellipsis_ratio"
    # ". . ." counts once, and its dots are whitespace words of their own: 1 / 102
    assert check(prose(100) + ". . .").signals["ellipsis_ratio"] == pytest.approx(1 / 102)


def test_combined_symbol_ratio_flag():
    base = prose(100).split()
    text = " ".join(["#" + w if i >= 94 else (w + "\u2026" if i >= 89 else w) for i, w in enumerate(base)])
    assert check(text).keep  # 0.06 and 0.05 separately
    f = GopherQuality(combined_symbol_ratio=True)
    v = check(text, f)
    assert v.signals["symbol_ratio"] == pytest.approx(0.11) and v.reason == "gopher_quality.symbol_ratio"


def lines_text(n_lines, n_marked, mark_start="", mark_end=""):
    lines = []
    for i in range(n_lines):
        words = prose(10)
        if i < n_marked:
            words = mark_start + words + mark_end
        lines.append(words)
    return "\n\n".join(lines)  # blank lines do not count (non-empty lines only)


def test_bullet_lines_boundary():
    assert check(lines_text(10, 9, "\u2022 ")).signals["bullet_lines_ratio"] == 0.9
    assert check(lines_text(10, 9, "\u2022 ")).keep
    for bullet in ("\u25cf ", "\u2022 ", "* ", "- ", "  -"):
        assert check(lines_text(20, 19, bullet)).reason == "gopher_quality.bullet_lines", bullet


def test_ellipsis_lines_boundary():
    v = check(lines_text(10, 3, mark_end="..."))
    assert v.signals["ellipsis_lines_ratio"] == pytest.approx(0.3) and v.keep
    assert check(lines_text(10, 4, mark_end="\u2026")).reason == "gopher_quality.ellipsis_lines"


def test_alpha_words_boundary():
    words = prose(100).split()
    at = " ".join(words[:80] + ["1234"] * 20)
    v = check(at)
    assert v.signals["alpha_words_ratio"] == 0.8 and v.keep
    below = " ".join(words[:79] + ["1234"] * 21)
    assert check(below).reason == "gopher_quality.alpha_words"


def test_stop_words_boundary_and_semantics():
    body = " ".join(f"wordy{chr(97 + i % 26)}" for i in range(60))
    assert check(body + " the").reason == "gopher_quality.stop_words"
    assert check(body + " the of").keep
    assert check(body + " The THE").keep  # lowercased occurrences
    v = check(body + " the, of.")  # whitespace words: punctuation attached does not count
    assert v.signals["stop_words"] == 0.0 and v.reason == "gopher_quality.stop_words"
    assert check(body + " the the").signals["stop_words"] == 2.0  # occurrences, not distinct


def test_one_case_per_reason():
    body = prose(100)
    cases = {
        "word_count_low": (F, prose(10)),
        "word_count_high": (GopherQuality(max_words=99), body),
        "mean_word_len": (F, body.replace("wordy", "wordywordywordy")),
        "hash_ratio": (F, body.replace("wordy", "#wordy", 11)),
        "ellipsis_ratio": (F, body.replace("wordy", "wordy...", 11)),
        "symbol_ratio": (GopherQuality(combined_symbol_ratio=True), body.replace("wordy", "#wordy\u2026", 6)),
        "bullet_lines": (F, "\n".join("- " + prose(10) for _ in range(10))),
        "ellipsis_lines": (F, "\n".join(prose(20) + "..." for _ in range(5))),
        "alpha_words": (F, body + " 1" * 30),
        "stop_words": (F, body.replace("the", "thy").replace("and", "or")),
    }
    for reason, (f, text) in cases.items():
        assert check(text, f).reason == "gopher_quality." + reason
    assert sorted("gopher_quality." + r for r in cases) == sorted(F.reasons)


def test_empty_and_whitespace_documents():
    for text in ("", "   \n\n\t"):
        v = check(text)
        assert v.reason == "gopher_quality.word_count_low"
        assert v.signals["word_count"] == 0.0 and v.signals["mean_word_len"] == 0.0


def test_non_english_documents():
    chinese = "这是一个没有空格的中文句子，" * 40
    v = check(chinese)
    assert v.signals["word_count"] == 1.0 and v.reason == "gopher_quality.word_count_low"
    russian = " ".join(["это", "простой", "русский", "текст", "без", "английских", "слов"] * 10)
    v = check(russian)
    assert v.signals["alpha_words_ratio"] == 1.0 and v.reason == "gopher_quality.stop_words"


def test_failing_lists_every_violated_rule():
    text = "#### " * 60
    v = check(text)
    assert v.reason == "gopher_quality.word_count_low"
    assert set(F.failing(v.signals)) >= {
        "gopher_quality.word_count_low", "gopher_quality.hash_ratio",
        "gopher_quality.alpha_words", "gopher_quality.stop_words",
    }


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        GopherQuality(min_words=10, max_words=5)
    with pytest.raises(ValueError):
        GopherQuality(min_alpha_words_ratio=1.2)
    with pytest.raises(ValueError):
        GopherQuality(stop_words=("The",))
    f = GopherQuality(stop_words=("le", "la"), bullets=("+",))
    assert check("le la " + prose(60), f).keep


def test_very_long_text_completes():
    text = (prose(200) + "\n") * 1800
    assert len(text) > 2_000_000
    v = check(text)
    assert v.signals["word_count"] == 360_000 and v.reason == "gopher_quality.word_count_high"


def test_does_not_mutate_and_pickles():
    d = doc(prose(60))
    F(d)
    assert d.signals == {}
    assert pickle.loads(pickle.dumps(F)) == F


# --- datatrove's reading (the fineweb preset) --------------------------------------------
DATATROVE = dict(words="spacy_en", stop_word_count="distinct", lines="all", bullets=("\u2022", "-"),
                 ellipses=("...", "\u2026"))


def ref_datatrove_keep(text, words):
    """datatrove 0.10.1's GopherQualityFilter.filter, transcribed (keep or not)."""
    from webrefine.filters.spacy_en_tokens import PUNCTUATION

    n_words = len(words)
    non_symbol = [w for w in words if any(ch not in PUNCTUATION for ch in w)]
    if len(non_symbol) < 50 or len(non_symbol) > 100_000:
        return False
    avg = sum(map(len, non_symbol)) / len(non_symbol)
    if avg < 3 or avg > 10:
        return False
    if text.count("#") / n_words > 0.1 or (text.count("...") + text.count("…")) / n_words > 0.1:
        return False
    lines = text.splitlines()
    if sum(s.lstrip().startswith("•") or s.lstrip().startswith("-") for s in lines) / len(lines) > 0.9:
        return False
    if sum(s.rstrip().endswith("...") or s.rstrip().endswith("…") for s in lines) / len(lines) > 0.3:
        return False
    if sum(any(c.isalpha() for c in w) for w in words) / n_words < 0.8:
        return False
    return len({"the", "be", "to", "of", "and", "that", "have", "with"} & set(words)) >= 2


def test_datatrove_reading_matches_datatroves_code_on_random_texts():
    import random

    from webrefine.filters import spacy_en_tokens

    f = GopherQuality(**DATATROVE)
    rnd = random.Random(11)
    plain = ["the", "The", "and", "of", "with", "house", "garden", "window", "people", "report", "during"]
    odd = ["a", "12", "3.5", "#tag", "...", "…", "-", "•", "(word)", "don't", "e.g.", "end.", "x,", "!!", "--",
           "data-set", "verylongwordindeed", "hi"]
    kept = dropped = 0
    for k in range(400):
        odd_share = rnd.choice([0.0, 0.0, 0.02, 0.05, 0.15, 0.4])
        words, odds = rnd.sample(plain, rnd.randint(2, len(plain))), rnd.sample(odd, rnd.randint(1, len(odd)))
        parts = []
        for _ in range(rnd.randint(30, 250)):
            parts.append(rnd.choice(odds if rnd.random() < odd_share else plain[:2] + words))
            parts.append(rnd.choice([" "] * 30 + ["\n", "\n\n", "\n- ", "\n• "]))
        text = "".join(parts).strip()
        want = ref_datatrove_keep(text, spacy_en_tokens.tokens(text))
        assert f(doc(text)).keep == want, text
        kept += want
        dropped += not want
    assert kept > 20 and dropped > 20  # both outcomes are exercised


def test_spacy_words_count_punctuation_tokens_in_the_alpha_share():
    # 50 words each followed by a comma: 100 spaCy tokens, 50 of them with a letter (0.5 < 0.8);
    # as whitespace words every one has a letter
    text = " ".join(f"{w}," for w in ["the", "and"] + [f"word{chr(97 + i % 26)}" for i in range(48)])
    assert GopherQuality().signals(text)["alpha_words_ratio"] == 1.0
    s = GopherQuality(words="spacy_en").signals(text)
    assert s["alpha_words_ratio"] == pytest.approx(50 / 100)
    assert s["word_count"] == 50.0  # punctuation-only tokens are not words


def test_distinct_stop_words_keep_case():
    text = "The The The of of " + " ".join(["wordy"] * 60)
    assert GopherQuality().signals(text)["stop_words"] == 5.0  # occurrences, lowercased
    assert GopherQuality(stop_word_count="distinct").signals(text)["stop_words"] == 1.0  # "of"; "The" != "the"


def test_all_lines_count_blank_lines():
    text = "- a\n\n- b\n\nc..."
    assert GopherQuality().signals(text)["bullet_lines_ratio"] == pytest.approx(2 / 3)
    assert GopherQuality(lines="all").signals(text)["bullet_lines_ratio"] == pytest.approx(2 / 5)
    assert GopherQuality(lines="all").signals(text)["ellipsis_lines_ratio"] == pytest.approx(1 / 5)


def test_reading_parameters_are_validated():
    for key in ("words", "stop_word_count", "lines"):
        with pytest.raises(ValueError, match=key):
            GopherQuality(**{key: "nonsense"})
    with pytest.raises(ValueError, match="ellipses"):
        GopherQuality(ellipses=())
