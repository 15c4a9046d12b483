"""gopher_repetition: the 13 Gopher repetition checks, DCLM semantics (docs/rules.md, Gopher repetition)."""
import pickle
import random
from collections import Counter

import pytest

from webrefine.filters.gopher_repetition import GopherRepetition, _ngram_fracs_numpy, _ngram_fracs_python, ngram_fracs
from tests.filters.helpers import checked, doc

F = GopherRepetition()
THRESHOLDS = {n: getattr(F, f"dup_{n}gram") for n in range(5, 11)}
THRESHOLDS.update({n: getattr(F, f"top_{n}gram") for n in range(2, 5)})


def uniq(count, start=0, prefix="u"):
    """Distinct 4-character tokens."""
    return [f"{prefix}{i:03d}" for i in range(start, start + count)]


def check(text):
    v = checked(F, text)
    assert set(v.signals) == {r.split(".", 1)[1] for r in F.reasons}
    return v


# --- reference implementation (DCLM's code, transcribed) -------------------------------
def ref_ngram(words, n):
    total = sum(len(w) for w in words)
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    ordered = counts.most_common()
    top_gram, top = ordered[0]
    if top == 1:
        return 0.0
    if n <= 4:
        length = max(sum(map(len, g)) for g, c in ordered if c == top)
        return length * top / total
    covered = set()
    for i, g in enumerate(grams):
        if counts[g] > 1:
            covered.update(range(i, i + n))
    return sum(len(words[i]) for i in covered) / total


def test_ngram_fracs_match_reference_on_random_texts():
    rnd = random.Random(3)
    for k in range(400):
        vocab = [rnd.choice("abc") * rnd.randint(1, 3) for _ in range(rnd.randint(1, 7 if k % 10 else 60))]
        toks = tuple(rnd.choice(vocab) for _ in range(rnd.randint(0, 80 if k % 10 else 700)))
        for impl in (_ngram_fracs_python, _ngram_fracs_numpy, ngram_fracs):
            got = impl(toks)
            for n in range(2, 11):
                assert got[n] == pytest.approx(ref_ngram(list(toks), n), abs=1e-12), (impl, toks, n)


# --- lines and paragraphs ----------------------------------------------------------------
def test_conformance_three_lines_two_identical():
    # All occurrences count (DCLM), 2/3 > 0.3.
    v = check("the same line\nthe same line\na different one")
    assert v.signals["dup_line_frac"] == pytest.approx(2 / 3)
    assert v.reason == "gopher_repetition.dup_line_frac"


def lines_doc(n_lines, n_dup, dup_line="dup x"):
    body = [" ".join(uniq(20, 20 * i)) for i in range(n_lines - n_dup)]
    return "\n".join(body + [dup_line] * n_dup)


def test_dup_line_frac_boundary():
    at = check(lines_doc(10, 3))  # 3/10 = 0.30: not greater
    assert at.signals["dup_line_frac"] == 0.3 and at.keep
    above = check(lines_doc(13, 4))  # 4/13 = 0.3077
    assert above.reason == "gopher_repetition.dup_line_frac"


def test_blank_lines_are_not_duplicates():
    # Empty segments are dropped before counting.
    v = check("\n\n\n".join(" ".join(uniq(3, 3 * i)) for i in range(5)))
    assert v.signals["dup_line_frac"] == 0.0 and v.keep


def paras_doc(dup_count):
    uniques = ["\n".join(" ".join(uniq(2, 20 * i + 2 * j)) for j in range(10)) for i in range(3)]
    return "\n\n".join(uniques + ["p q"] * dup_count)


def test_dup_para_frac():
    v = check(paras_doc(2))  # 2 of 5 paragraphs; lines: 2 of 32
    assert v.signals["dup_para_frac"] == pytest.approx(0.4)
    assert v.signals["dup_line_frac"] == pytest.approx(2 / 32)
    assert v.reason == "gopher_repetition.dup_para_frac"
    below = check("\n\n".join(["\n".join(" ".join(uniq(2, 20 * i + 2 * j)) for j in range(10)) for i in range(5)] + ["p q"] * 2))
    assert below.signals["dup_para_frac"] == pytest.approx(2 / 7)
    assert "gopher_repetition.dup_para_frac" not in F.failing(below.signals)


def line_chars_doc(extra_unique):
    long_line = " ".join(uniq(10, 500, "L"))  # 49 characters
    short = [" ".join(uniq(2, 2 * i)) for i in range(8 + extra_unique)]
    return "\n".join(short + [long_line, long_line])


def test_dup_line_char_frac_boundary():
    v = check(line_chars_doc(0))  # 2 of 10 lines (0.2, passes), 98 of 170 chars
    assert v.signals["dup_line_frac"] == 0.2
    assert v.signals["dup_line_char_frac"] == pytest.approx(98 / (98 + 8 * 9))
    assert v.reason == "gopher_repetition.dup_line_char_frac"
    # 98 / (98 + n * 9) <= 0.2 from n = 44 unique lines on
    assert "gopher_repetition.dup_line_char_frac" in F.failing(check(line_chars_doc(35)).signals)
    below = check(line_chars_doc(36))
    assert below.signals["dup_line_char_frac"] == pytest.approx(98 / 494)
    assert "gopher_repetition.dup_line_char_frac" not in F.failing(below.signals)


def test_dup_para_char_frac():
    # A paragraph of ten one-letter lines, twice: its newlines count for paragraphs only.
    dup = "\n".join("abcdefghij")
    others = [f"{chr(65 + i // 10)}{i % 10}" for i in range(50)]
    v = check("\n\n".join(others + [dup, dup]))
    assert v.signals["dup_line_frac"] == pytest.approx(20 / 70)
    assert v.signals["dup_line_char_frac"] == pytest.approx(20 / 120)
    assert v.signals["dup_para_frac"] == pytest.approx(2 / 52)
    assert v.signals["dup_para_char_frac"] == pytest.approx(38 / 138)
    assert v.reason == "gopher_repetition.dup_para_char_frac"


def test_single_line_and_empty_documents_pass():
    assert check("just one line with words").keep
    v = check("")
    assert v.keep and all(value == 0.0 for value in v.signals.values())


# --- n-grams -----------------------------------------------------------------------------
def top_doc(n, repeats, uniques):
    """An n-gram of 4-character tokens repeated, separated by distinct tokens."""
    gram = uniq(n, 900, "g")
    out = []
    for i in range(repeats):
        out += gram + [f"s{i:03d}"]
    return " ".join(out + uniq(uniques))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram_boundaries(n):
    thr = THRESHOLDS[n]
    # fraction = 4n * 3 / (4 * (3n + 3 + u)): find the u where it crosses the threshold
    u = next(u for u in range(1000) if 12 * n / (4 * (3 * n + 3 + u)) <= thr)
    kept = check(top_doc(n, 3, u))
    assert kept.signals[f"top_{n}gram"] <= thr < check(top_doc(n, 3, u - 1)).signals[f"top_{n}gram"]
    assert f"gopher_repetition.top_{n}gram" not in F.failing(kept.signals)
    above = check(top_doc(n, 3, u - 1))
    assert above.reason == f"gopher_repetition.top_{n}gram"


def test_top_2gram_exact_boundary():
    # 3 x "g900 g901" = 24 of 120 token characters: exactly 0.2, not greater.
    v = check(" ".join(["g900 g901 s000", "g900 g901 s001", "g900 g901"] + uniq(22)))
    assert v.signals["top_2gram"] == 0.2 and v.keep


def test_top_ngram_is_zero_when_nothing_repeats():
    # A short unique document is not credited to top_2gram.
    v = check("a b")
    assert v.signals["top_2gram"] == 0.0 and v.keep


def test_top_ngram_ties_take_the_longest():
    # "ab c" and "x yyyyyyy" both occur twice: the longer (8 characters) counts.
    toks = ("ab", "c", "q", "x", "yyyyyyy", "r", "ab", "c", "s", "x", "yyyyyyy")
    total = sum(map(len, toks))
    assert ngram_fracs(toks)[2] == pytest.approx(8 * 2 / total)


def dup_doc(n, uniques):
    gram = uniq(n, 900, "g")
    return " ".join(gram + uniq(uniques) + gram)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_dup_ngram_boundaries(n):
    thr = THRESHOLDS[n]
    # fraction = 2n / (2n + u): covered tokens of the repeated n-gram, longer ones absent
    u = next(u for u in range(1000) if 2 * n / (2 * n + u) <= thr)
    kept = check(dup_doc(n, u))
    assert kept.signals[f"dup_{n}gram"] == pytest.approx(2 * n / (2 * n + u))
    assert f"gopher_repetition.dup_{n}gram" not in F.failing(kept.signals)
    above = check(dup_doc(n, u - 1))
    assert above.signals[f"dup_{n}gram"] > thr
    assert above.reason == f"gopher_repetition.dup_{n}gram"
    if n < 10:
        assert above.signals[f"dup_{n + 1}gram"] == 0.0


def test_dup_ngrams_count_overlaps_once():
    toks = tuple("a b c d e a b c d e a b c d e".split())
    assert ngram_fracs(toks)[5] == 1.0


# --- parameters, robustness ----------------------------------------------------------------
def test_every_reason_is_listed_once():
    assert len(set(F.reasons)) == 13
    assert all(r.startswith("gopher_repetition.") for r in F.reasons)


def test_thresholds_are_configurable_and_validated():
    text = "x y\nx y\nz w"
    assert F(doc(text)).reason == "gopher_repetition.dup_line_frac"
    assert GopherRepetition(dup_line_frac=0.9)(doc(text)).reason == "gopher_repetition.dup_line_char_frac"
    with pytest.raises(ValueError):
        GopherRepetition(top_2gram=1.5)


def test_non_english_text():
    text = "\n".join(f"这是第{i}行中文文本，没有重复。" for i in range(20))
    v = check(text)
    assert v.keep


def test_very_long_text_completes():
    rnd = random.Random(1)
    words = [f"w{rnd.randrange(10**6, 10**7)}" for _ in range(260_000)]
    text = "\n".join(" ".join(words[i : i + 12]) for i in range(0, len(words), 12))
    assert len(text) > 2_000_000
    assert check(text).keep
    assert check("spam spam spam\n" * 150_000).reason == "gopher_repetition.dup_line_frac"


def test_pickles_small_and_does_not_mutate():
    d = doc("a b\na b\nc d")
    F(d)
    assert d.text == "a b\na b\nc d" and d.signals == {}
    assert pickle.loads(pickle.dumps(F)) == F


# --- datatrove's reading (the fineweb preset) --------------------------------------------
# datatrove 0.10.1's GopherRepetitionFilter, transcribed: the fractions it compares.
def ref_datatrove(text, words):
    import re

    out = {}
    paragraphs = re.split(r"\n{2,}", text.strip())
    lines = re.split("\n+", text)
    for key, segs in (("para", paragraphs), ("line", lines)):
        seen, dup, chars = set(), 0, 0
        for s in segs:
            if s in seen:
                dup += 1
                chars += len(s)
            else:
                seen.add(s)
        out[f"dup_{key}_frac"] = dup / len(segs)
        out[f"dup_{key}_char_frac"] = chars / len(text)
    for n in (2, 3, 4):
        grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        if grams:
            g, c = Counter(grams).most_common(1)[0]
            out[f"top_{n}gram"] = len(g) * c / len(text)
        else:
            out[f"top_{n}gram"] = 0.0
    for n in range(5, 11):
        unique, rep, idx = set(), 0, 0
        while idx < len(words) - n + 1:
            g = "".join(words[idx : idx + n])
            if g in unique:
                rep += len(g)
                idx += n
            else:
                unique.add(g)
                idx += 1
        out[f"dup_{n}gram"] = rep / len(text)
    return out


DATATROVE = dict(duplicates="after_first", segments="raw", char_fractions_of="text", tokens="spacy_en")


def test_datatrove_reading_matches_datatroves_code_on_random_texts():
    from webrefine.filters import spacy_en_tokens

    f = GopherRepetition(**DATATROVE)
    rnd = random.Random(7)
    # Their tokens (ab cd ef . ( ) do n't x - y ! , 3.5) form a prefix-free set, so two n-grams
    # have the same concatenation only when they are the same n-gram: datatrove compares
    # concatenations, webrefine token sequences (module doc).
    pieces = ["ab", "cd", "ef.", "(ab)", "don't", "x-y", "!", "ab,", "3.5", "cd"]
    for k in range(300):
        vocab = [rnd.choice(pieces) for _ in range(rnd.randint(1, 6 if k % 10 else 40))]
        parts = []
        for _ in range(rnd.randint(1, 60 if k % 10 else 500)):
            parts.append(rnd.choice(vocab))
            parts.append(rnd.choice([" ", " ", " ", "\n", "\n\n", "  "]))
        text = "".join(parts).strip() or "a"
        got = f.signals(text)
        want = ref_datatrove(text, spacy_en_tokens.tokens(text))
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-12), (key, text)


def test_after_first_counts_only_the_copies():
    text = "alpha beta gamma\nalpha beta gamma\ndelta epsilon zeta"
    dclm = GopherRepetition().signals(text)
    dt = GopherRepetition(duplicates="after_first").signals(text)
    assert dclm["dup_line_frac"] == pytest.approx(2 / 3)
    assert dt["dup_line_frac"] == pytest.approx(1 / 3)
    # characters: one copy of a 16-character line over the 50 characters of the three lines
    assert dt["dup_line_char_frac"] == pytest.approx(16 / 50)
    # over len(text) (two newlines more) with char_fractions_of: text
    assert GopherRepetition(duplicates="after_first", char_fractions_of="text").signals(text)[
        "dup_line_char_frac"] == pytest.approx(16 / len(text))


def test_datatrove_top_ngram_counts_a_unique_first_ngram():
    # Nothing repeats: DCLM's reading gives 0, datatrove's the first 2-gram ("ab cd", 5 chars) once.
    text = "ab cd ef gh"
    assert GopherRepetition().signals(text)["top_2gram"] == 0.0
    assert GopherRepetition(**DATATROVE).signals(text)["top_2gram"] == pytest.approx(5 / len(text))


def test_reading_parameters_are_validated():
    for key in DATATROVE:
        with pytest.raises(ValueError, match=key):
            GopherRepetition(**{key: "nonsense"})


def test_datatrove_ngram_paths_agree_with_datatroves_code(monkeypatch):
    from webrefine.filters import gopher_repetition as gr

    def python_path(toks, text_len):
        with monkeypatch.context() as m:
            m.setattr(gr, "NUMPY_MIN_TOKENS", 10**9)
            return gr.ngram_fracs_datatrove(toks, text_len)

    def numpy_path(toks, text_len):
        return gr._ngram_fracs_datatrove_numpy(toks, text_len, True)

    rnd = random.Random(5)
    for k in range(300):
        # equal-length tokens: concatenations collide only for equal n-grams (as above)
        vocab = [rnd.choice("abc") * 2 for _ in range(rnd.randint(1, 6 if k % 10 else 40))]
        toks = tuple(rnd.choice(vocab) for _ in range(rnd.randint(1, 80 if k % 10 else 900)))
        text = " ".join(toks)
        want = ref_datatrove(text, list(toks))
        for impl in (python_path, numpy_path, gr.ngram_fracs_datatrove):
            got = impl(toks, len(text))
            for n in range(2, 11):
                key = f"top_{n}gram" if n <= 4 else f"dup_{n}gram"
                assert got[n] == pytest.approx(want[key], abs=1e-12), (impl, n, toks)


@pytest.mark.parametrize("text", ["", "\n", "a", "\na", "a\n", "a\n\nb\n\n\nc\n", "\n\n a \n\n", "x\ny\n\n"])
def test_raw_segments_are_datatroves_regex_splits(text):
    import re

    from webrefine.filters.gopher_repetition import _raw_lines, _raw_paragraphs

    assert _raw_lines(text) == re.split("\n+", text)
    assert _raw_paragraphs(text) == re.split(r"\n{2,}", text.strip())
