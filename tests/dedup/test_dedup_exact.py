import pytest

from webrefine.dedup.exact import ExactDedup, normalise_text, text_key


def test_normalisation_collapses_whitespace_and_composes_accents():
    assert normalise_text("  caf\u0065\u0301 \t au\n\n lait\u00a0 ") == "caf\u00e9 au lait"


def test_case_and_punctuation_are_kept_by_default():
    assert text_key("Hello, world") != text_key("hello world")
    assert text_key("Hello", lowercase=True) == text_key("HELLO", lowercase=True)
    assert text_key("Hello") != text_key("HELLO")


def test_whitespace_only_differences_share_a_key():
    assert text_key("a b\nc") == text_key("a  b c ")
    assert text_key("a b") != text_key("ab")


def test_form_none_keeps_decomposed_accents_apart():
    assert text_key("e\u0301", form="none") != text_key("\u00e9", form="none")
    assert text_key("e\u0301") == text_key("\u00e9")


def test_key_is_16_bytes():
    assert len(ExactDedup().key("x")) == 16


def test_config_defaults_and_validation():
    stage = ExactDedup()
    assert (stage.name, stage.reasons, stage.survivor) == ("exact_dedup", ("exact_dedup.duplicate",), "earliest")
    with pytest.raises(ValueError, match="unicode_form"):
        ExactDedup(unicode_form="NFD")
    with pytest.raises(ValueError, match="survivor"):
        ExactDedup(survivor="first")
