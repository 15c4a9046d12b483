"""exact_substring_dedup's algorithm (dedup/substring.py), against a brute-force reference."""
from __future__ import annotations

import random

import numpy as np
import pytest

from webrefine.dedup.substring import ExactSubstringDedup, cut, dedup_part, part_count, part_of, repeated_tokens
from webrefine.filters.document import Document


def brute_force(ids: list[list[int]], k: int, keep_first: bool) -> list[list[bool]]:
    """A token is cut when a k-gram covering it occurs elsewhere (keep_first: earlier)."""
    seen: dict[tuple, list[tuple[int, int]]] = {}
    for d, doc in enumerate(ids):
        for p in range(len(doc) - k + 1):
            seen.setdefault(tuple(doc[p:p + k]), []).append((d, p))
    masks = [[False] * len(doc) for doc in ids]
    for places in seen.values():
        if len(places) < 2:
            continue
        for d, p in (places[1:] if keep_first else places):
            for i in range(p, p + k):
                masks[d][i] = True
    return masks


def masks_of(ids, k, keep_first=True):
    masks, _ = repeated_tokens([np.array(doc, dtype=np.int64) for doc in ids], k, keep_first)
    return [m.tolist() for m in masks]


@pytest.mark.parametrize("keep_first", [True, False])
@pytest.mark.parametrize("seed", range(30))
def test_matches_brute_force_on_random_token_streams(seed, keep_first):
    rng = random.Random(seed)
    # a small alphabet and planted copies: many overlapping repeats of every length
    ids = [[rng.randrange(4) for _ in range(rng.randrange(0, 40))] for _ in range(rng.randrange(1, 6))]
    for _ in range(3):
        src = rng.randrange(len(ids))
        if len(ids[src]) > 3:
            a = rng.randrange(len(ids[src]) - 2)
            piece = ids[src][a:a + rng.randrange(2, 15)]
            dst = rng.randrange(len(ids))
            at = rng.randrange(len(ids[dst]) + 1)
            ids[dst][at:at] = piece
    for k in (1, 2, 3, 5, 8):
        assert masks_of(ids, k, keep_first) == brute_force(ids, k, keep_first), (ids, k)
    hashed = [[(t + 1) << 40 for t in doc] for doc in ids]  # 64-bit ids (hashed words) are ranked by sorting
    assert masks_of(hashed, 3, keep_first) == brute_force(ids, 3, keep_first)


@pytest.mark.parametrize("length,cut_expected", [(4, False), (5, True), (6, True), (20, True)])
def test_planted_span_around_the_threshold(length, cut_expected):
    span = list(range(100, 100 + length))
    a = [1, 2] + span + [3]
    b = [4] + span + [5, 6]
    masks = masks_of([a, b], 5)
    assert masks[0] == [False] * len(a)  # the first occurrence stays
    assert masks[1] == [False] + [cut_expected] * length + [False, False]


def test_spans_at_document_edges_and_no_span_across_documents():
    span = list(range(10, 16))
    # b is the span alone: both edges; the end of a and the start of c together make
    # span, but never one document: not a repeat
    a, b, c = [1, 2] + span[:3], span, span[3:] + [7]
    masks = masks_of([a, b, c, span + [9]], 6)
    assert masks[:3] == [[False] * 5, [False] * 6, [False] * 4]
    assert masks[3] == [True] * 6 + [False]


def test_overlapping_repeats_merge_into_one_cut():
    x, y, z = [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]
    masks = masks_of([x + y, y + z, [0] + x + y + z + [0]], 4)
    assert masks[2] == [False] + [True] * 12 + [False]
    assert masks[1] == [True] * 4 + [False] * 4  # y occurred in the first document


def test_a_span_repeated_inside_one_document():
    span = [7, 8, 9, 10, 11]
    doc = [1] + span + [2, 3] + span + [4] + span
    masks = masks_of([doc], 5)
    expected = [False] * 8 + [True] * 5 + [False] + [True] * 5
    assert masks == [expected]
    assert masks_of([doc], 5, keep_first=False) == [[False] + [True] * 5 + [False] * 2 + [True] * 5 + [False]
                                                    + [True] * 5]


def test_periodic_text_overlapping_itself():
    doc = [1, 2] * 10  # every 4-gram recurs two tokens later
    assert masks_of([doc], 4) == brute_force([doc], 4, True)
    assert masks_of([doc], 4)[0][:4] == [False, False, True, True]


def test_empty_documents_and_short_inputs():
    assert masks_of([[], [1, 2], []], 3) == [[], [False, False], []]
    assert masks_of([], 3) == []


def words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


BOILER = ("This website uses cookies to improve your experience. By continuing to browse the site you agree "
          "to our use of cookies, our privacy policy and our terms of service, which you can read at any "
          "time on the page linked at the bottom of every page of this site.")


def doc(id_: str, text: str, date: str = "") -> Document:
    return Document(id=id_, url=f"https://example.com/{id_}", text=text, date=date)


def test_keeps_the_first_document_by_survivor_order_and_cuts_whole_words():
    stage = ExactSubstringDedup(min_tokens=20, min_words=10)
    late = doc("a", words("apple", 60) + " " + BOILER + " " + words("pear", 40), date="2024-05-01T00:00:00Z")
    early = doc("b", words("kiwi", 60) + " " + BOILER + " " + words("plum", 40), date="2023-01-01T00:00:00Z")
    out = {o.doc.id: o for o in dedup_part(stage, [late, early])}
    assert out["b"].text == early.text and not out["b"].spans
    cut_text = out["a"].text
    assert cut_text == words("apple", 60) + " " + words("pear", 40)  # one space where the span was
    assert out["a"].chars_cut == len(late.text) - len(cut_text) > len(BOILER) - 20
    assert 0 < out["a"].tokens_cut < out["a"].tokens_in and out["a"].spans[0].occurrences == 2
    assert not out["a"].dropped
    # cut_all: the boilerplate leaves both
    both = dedup_part(ExactSubstringDedup(min_tokens=20, min_words=10, repeated="cut_all"), [late, early])
    assert all("cookies" not in o.text and o.spans for o in both)


def test_a_span_is_cut_only_where_its_tokens_repeat():
    # After a newline BPE starts "This" without its space: " This" ≠ "This", so the first
    # word stays in the later document, whole, with one space before the next word kept.
    stage = ExactSubstringDedup(min_tokens=20, min_words=10)
    early = doc("b", words("kiwi", 60) + "\n" + BOILER + "\n" + words("plum", 40), date="2023-01-01T00:00:00Z")
    late = doc("a", words("apple", 60) + " " + BOILER + " " + words("pear", 40), date="2024-05-01T00:00:00Z")
    text = dedup_part(stage, [late, early])[1].text
    assert text == words("apple", 60) + " This site. " + words("pear", 40)


def test_input_order_does_not_matter():
    stage = ExactSubstringDedup(min_tokens=10, min_words=0)
    docs = [doc(str(i), words(f"w{i}x", 20) + " " + BOILER) for i in range(6)]
    ref = [(o.doc.id, o.text) for o in dedup_part(stage, docs)]
    for seed in range(3):
        shuffled = docs[:]
        random.Random(seed).shuffle(shuffled)
        assert [(o.doc.id, o.text) for o in dedup_part(stage, shuffled)] == ref


def test_multibyte_text_is_cut_on_character_and_word_boundaries():
    stage = ExactSubstringDedup(min_tokens=15, min_words=0)
    shared = "Ünïcödé ßtraße — 日本語のテキスト、絵文字 😀🎉 и кириллица, ελληνικά κείμενα, ещё раз 😀 конец"
    a = doc("a", "Erste Seite über Köln. " + shared + " Schluss eins.")
    b = doc("b", "Zweite Seite über München! " + shared + " Schluss zwei.")
    out = {o.doc.id: o for o in dedup_part(stage, [a, b])}
    text = out["b"].text
    assert out["b"].spans and "кириллица" not in text
    text.encode("utf-8")  # no lone surrogate or half character
    original_words = set(b.text.split())
    assert all(w in original_words for w in text.split()), text  # no word was split
    assert text.startswith("Zweite Seite über München!") and text.endswith(" zwei.")  # " Schluss" is shared too


def test_a_document_cut_below_min_words_is_dropped_and_an_uncut_short_one_is_not():
    stage = ExactSubstringDedup(min_tokens=20, min_words=50)
    a = doc("a", words("x", 80) + " " + BOILER)
    b = doc("b", BOILER + " and ten more words here to say a little")
    short = doc("c", "Too short to be cut at all.")
    out = {o.doc.id: o for o in dedup_part(stage, [a, b, short])}
    assert out["b"].dropped and out["b"].spans
    assert not out["c"].dropped and not out["a"].dropped


def test_whitespace_tokenizer():
    stage = ExactSubstringDedup(min_tokens=10, min_words=0, tokenizer="whitespace")
    out = dedup_part(stage, [doc("a", "one two " + BOILER), doc("b", BOILER + " three four")])
    assert out[1].text == "three four" and out[1].tokens_cut == len(BOILER.split())


def test_cut_joins_the_pieces_left():
    from webrefine.dedup.substring import Span
    assert cut("abcdef", [Span(1, 3, 2), Span(4, 5, 2)]) == "adf"


@pytest.mark.parametrize("params", [{"min_tokens": 0}, {"parts": 0}, {"repeated": "cut_first"},
                                    {"tokenizer": "gpt5"}, {"survivor": "oldest"}, {"min_words": -1}])
def test_bad_parameters_are_errors(params):
    with pytest.raises(ValueError, match="exact_substring_dedup"):
        ExactSubstringDedup(**params)


def test_parts_spread_documents_by_id():
    stage = ExactSubstringDedup(parts=8)
    parts = [stage.part(f"<urn:uuid:{i}>") for i in range(800)]
    assert set(parts) == set(range(8)) and max(parts.count(p) for p in range(8)) < 150
    assert ExactSubstringDedup(parts=8).part("x") == stage.part("x")


def test_a_hugging_face_tokenizer_json(tmp_path):
    tk = pytest.importorskip("tokenizers")
    vocab = {w: i for i, w in enumerate(sorted(set((BOILER + " one two three four").replace(".", " ").replace(",", " ")
                                                   .split())))}
    vocab["[UNK]"] = len(vocab)
    tok = tk.Tokenizer(tk.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    stage = ExactSubstringDedup(min_tokens=10, min_words=0, tokenizer=str(tmp_path / "tokenizer.json"))
    out = dedup_part(stage, [doc("a", "one two " + BOILER), doc("b", BOILER + " three four")])
    assert out[0].text == "one two " + BOILER and out[1].text == "three four"


@pytest.mark.parametrize("total, part_tokens, parts", [
    (0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (95, 10, 10), (10**12, 20_000_000, 50_000)])
def test_part_count_is_the_tokens_over_part_tokens_rounded_up(total, part_tokens, parts):
    assert part_count(total, part_tokens) == parts


def test_parts_default_to_auto_and_a_number_still_picks_part_of():
    assert ExactSubstringDedup().parts == "auto" and ExactSubstringDedup().part_tokens == 20_000_000
    assert [ExactSubstringDedup(parts=5).part(f"d{i}") for i in range(50)] == [part_of(f"d{i}", 5) for i in range(50)]
    with pytest.raises(ValueError, match="auto"):
        ExactSubstringDedup().part("d1")  # auto: the number of parts comes from the input


@pytest.mark.parametrize("params", [{"parts": "many"}, {"parts": True}, {"parts": 2.0}, {"part_tokens": 0},
                                    {"part_tokens": -1}, {"part_tokens": 1.5}])
def test_bad_part_parameters_are_errors(params):
    with pytest.raises(ValueError, match="exact_substring_dedup: part"):
        ExactSubstringDedup(**params)
