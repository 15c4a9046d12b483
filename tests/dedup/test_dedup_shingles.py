import re

import numpy as np

from webrefine.dedup import shingles

TEXT = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps again!"


def ground_truth(text, n=5):
    # data/dedup-eval's definition, verbatim: lowercased \w+ tokens, joined 5-grams
    w = re.findall(r"\w+", text.lower())
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


def test_default_shingles_match_the_ground_truth_definition():
    assert shingles.shingles(shingles.words(TEXT)) == ground_truth(TEXT)


def test_vectorised_hashes_equal_the_scalar_definition():
    got = shingles.text_shingle_hashes(TEXT)
    want = sorted({shingles.shingle_hash32(s) for s in ground_truth(TEXT)})
    assert got.dtype == np.uint32 and got.tolist() == want


def test_repeated_shingles_are_hashed_once():
    hs = shingles.text_shingle_hashes("a b c d e a b c d e a b c d e")
    assert len(hs) == len(ground_truth("a b c d e a b c d e")) == 5


def test_word_order_matters():
    assert shingles.shingle_hash32("a b c d e") != shingles.shingle_hash32("e d c b a")


def test_short_documents_have_no_shingles():
    assert shingles.text_shingle_hashes("one two three four").size == 0
    assert shingles.text_shingle_hashes("one two three four five").size == 1
    assert shingles.text_shingle_hashes("one two", n=2).size == 1


def test_options_normalise_digits_and_accents():
    assert shingles.words("Price 1,299.50 in 2024", digits=True) == ["price", "0", "in", "0"]
    assert shingles.words("Crème Brûlée", accents=True) == ["creme", "brulee"]
    assert shingles.words("Crème") == ["crème"]  # off by default, like the ground truth


def test_jaccard_exact():
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([3, 4, 5], dtype=np.uint32)
    assert shingles.jaccard(a, b) == 2 / 5
    assert shingles.jaccard(a[:0], b[:0]) == 1.0
    assert shingles.jaccard(a, a[:0]) == 0.0


def test_word_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(shingles, "_WORD_CACHE_MAX", 3)
    monkeypatch.setattr(shingles, "_WORD_CACHE", {})
    hashes = [shingles.word_hash(w) for w in "a b c d e".split()]
    assert len(shingles._WORD_CACHE) <= 3
    assert shingles.word_hash("a") == hashes[0]  # recomputed identically after eviction
