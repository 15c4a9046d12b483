"""filters/tokenizer.py: real BPE counts offline, character ranges that never split a character."""
from __future__ import annotations

import pytest

from webrefine.filters import tokenizer

TEXTS = ["", "Hello world", "  spaced   out\n\nlines ", "Ünïcödé ßtraße 日本語のテキスト 😀🎉 кириллица",
         "<|endoftext|> is only text here", "a" * 5000]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "whitespace"])
@pytest.mark.parametrize("text", TEXTS)
def test_spans_cover_the_text_in_order_without_splitting_a_character(name, text):
    tok = tokenizer.get(name)
    ids, starts, ends = tok.spans(text)
    assert len(ids) == len(starts) == len(ends) == tok.count(text)
    assert all(0 <= s <= len(text) and 0 <= e <= len(text) for s, e in zip(starts, ends))
    assert all(s <= e or e == s - 1 for s, e in zip(starts, ends))  # e = s - 1: inside one character
    assert list(starts) == sorted(starts) and list(ends) == sorted(ends)
    assert all(e <= s for e, s in zip(ends, starts[1:]))  # disjoint
    if name != "whitespace" and text:  # byte-level BPE: a run of tokens is all the text it spans
        assert starts[0] == 0 and ends[-1] == len(text)
        joined = "".join(text[s:e] for s, e in zip(starts, ends))
        assert len(joined) <= len(text) and set(joined) <= set(text)


def test_bpe_counts_are_the_vocabularys():
    tok = tokenizer.get("cl100k_base")
    assert tok.count("Hello world") == 2  # "Hello", " world"
    assert tok.count("<|endoftext|>") > 1  # special tokens are text, never one id
    assert tokenizer.get("o200k_base").count("Hello world") == 2
    assert tokenizer.get("whitespace").count(" a  b\tc\n") == 3


def test_a_character_split_between_tokens_belongs_only_to_a_run_of_all_of_them():
    text = "a😀"
    ids, starts, ends = tokenizer.get("cl100k_base").spans(text)
    assert len(ids) > 2  # the emoji's four bytes are several tokens
    assert [text[s:e] for s, e in zip(starts, ends) if e > s] == ["a"]  # no token has the emoji alone
    assert text[starts[1]:ends[-1]] == "😀"  # the run of its tokens covers it whole


def test_counts_are_cached_by_text():
    tok = tokenizer.get("cl100k_base")
    text = "a text counted twice " * 10
    assert tok.count(text) == tok.count(str(text)) and text in tok._cache


@pytest.mark.parametrize("name", ["", "gpt5", "model.bin"])
def test_unknown_tokenizers_are_errors(name):
    with pytest.raises(ValueError, match="tokenizer"):
        tokenizer.check_name(name, "output")


def test_a_tokenizer_json_path_needs_the_extra_or_loads(tmp_path):
    path = tmp_path / "tokenizer.json"
    try:
        from tokenizers import Tokenizer, models, pre_tokenizers
    except ImportError:
        path.write_text("{}")
        with pytest.raises(ValueError, match="tokenizers"):
            tokenizer.get(str(path))
        return
    tok = Tokenizer(models.WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    ids, starts, ends = tokenizer.get(str(path)).spans("hello big world")
    assert list(ids) == [0, 2, 1] and list(starts) == [0, 6, 10] and list(ends) == [5, 9, 15]


@pytest.mark.parametrize("text", ["word " * 500_000, "x" * 2_100_000, "😀" * 300_000 + " end"])
def test_very_long_texts_are_counted_in_pieces(text):
    tok = tokenizer.get("cl100k_base")
    ids, starts, ends = tok.spans(text)  # bpe-openai alone refuses these
    assert tok.count(text) == len(ids) > len(text) // 20
    assert starts[0] == 0 and ends[-1] == len(text)


def test_a_documents_count_is_carried_and_forgotten_when_its_text_changes():
    from webrefine.filters.document import Document

    tok = tokenizer.get("whitespace")
    doc = tok.counted(Document("d", "https://example.com/", text="one two three"))
    assert doc.n_tokens == 3
    assert doc.replace(signals={"x": 1.0}).n_tokens == 3  # same text: the count stays
    assert doc.replace(text=doc.text).n_tokens == 3  # the same str object
    assert doc.replace(text="one two").n_tokens == -1  # a new text: counted again when needed
    assert tok.counted(doc.replace(text="one two")).n_tokens == 2
    assert tok.counted(doc.replace(n_tokens=7)).n_tokens == 7  # a carried count is not recounted


COUNT_TEXTS = TEXTS + ["lone \ud800 surrogate", "tab\tand\r\nCRLF", "<|endoftext|><|fim_prefix|>", "1234567890 " * 300,
                       "mixed 日本語 and English, with numbers 3.14159 and URLs-like example.com/path?q=1"]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_bpe_counts_equal_the_packages_own_encoding(name):
    """Counting goes to the Rust extension directly: it must give bpe-openai's own token count."""
    import random

    import bpe_openai

    enc = bpe_openai.get_encoding(name)
    rng = random.Random(7)
    alphabet = "ab ç日😀\n\t.,'-<|>" + "\ud800"
    texts = COUNT_TEXTS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    tok = tokenizer.get(name)
    assert [tok.count(t) for t in texts] == [len(enc.encode_ordinary(t)) if t else 0 for t in texts]


def test_counting_does_not_run_the_bpe_packages_vocabulary_loading():
    """The package's __init__ decodes all its vocabularies in Python (~0.5 s); counting avoids it."""
    from tests.fresh_imports import modules_after

    loaded = modules_after("from webrefine.filters import tokenizer\n"
                           "assert tokenizer.get('cl100k_base').count('Hello world') == 2")
    assert sorted(m for m in loaded if m.startswith("bpe_openai")) == ["bpe_openai._bindings"]


def test_bpe_counts_fall_back_to_the_package_where_the_extension_has_no_counter(monkeypatch):
    import types

    monkeypatch.setattr(tokenizer, "_bpe_bindings", lambda: types.SimpleNamespace())  # another bpe-openai
    count = tokenizer._bpe_counter("cl100k_base")
    assert [count(t) for t in COUNT_TEXTS if t] == [tokenizer.get("cl100k_base").count(t) for t in COUNT_TEXTS if t]
