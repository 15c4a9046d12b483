"""The language stage with the real lid.176 model."""
import os
import shutil

import pytest

from webrefine.filters.document import Document
from webrefine.filters.stage import apply_stage
from webrefine.filters.language import LanguageFilter, bundled_model_path, model_fingerprint

EN = "The committee met on Tuesday to discuss the budget for next year and agreed to fund the new library."
DE = "Der Ausschuss traf sich am Dienstag, um den Haushalt für das nächste Jahr zu besprechen."


def doc(text: str) -> Document:
    return Document(id="1", url="u", text=text)


@pytest.fixture(scope="module")
def lid():
    stage = LanguageFilter()
    stage.setup()
    return stage


def test_english_is_kept_with_label_and_score(lid):
    out, verdict = apply_stage(lid, doc(EN + "\n" + EN))
    assert verdict.keep and out.language == "en" and out.language_score >= 0.65
    assert out.signals["language.score"] == pytest.approx(out.language_score, abs=1e-4)


def test_other_languages_are_dropped_but_labelled(lid):
    out, verdict = apply_stage(lid, doc(DE))
    assert out is None and verdict.reason == "language.unwanted"
    assert verdict.doc.language == "de"
    assert LanguageFilter(languages=("de",))(doc(DE)).keep


def test_threshold_is_inclusive_at_min_score(lid):
    lang, score = lid.predict("zzz qqq 123 xx")
    assert LanguageFilter(languages=(lang,), min_score=score)(doc("zzz qqq 123 xx")).keep
    low = LanguageFilter(languages=(lang,), min_score=min(1.0, score + 0.01))(doc("zzz qqq 123 xx"))
    assert low.reason == "language.low_score"


def test_empty_text(lid):
    assert lid(doc("  \n ")).reason == "language.empty"


def test_newlines_do_not_break_prediction(lid):
    assert lid.predict(EN.replace(" ", "\n"))[0] == "en"


def test_model_by_path_and_fingerprint(tmp_path):
    copy = tmp_path / "lid.176.ftz"
    shutil.copy(bundled_model_path(), copy)
    stage = LanguageFilter(model=str(copy))
    assert stage(doc(EN)).keep
    assert model_fingerprint(str(copy)) == model_fingerprint(bundled_model_path())
    assert os.path.getsize(copy) > 100_000
