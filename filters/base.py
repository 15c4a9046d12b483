"""The small types every stage speaks: Document in, Verdict out.

No Beam here: each rule is plain Python, unit-tested with strings. ``pipeline/`` wraps
stages in DoFns and does all the counting, so a stage never counts anything itself.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping



@dataclass(frozen=True)
class Document:
    """One web page (or one row of a text dataset) on its way through the stages.

    Before ``extract`` the page's decoded HTML is in ``html`` and ``text`` is empty;
    ``extract`` fills ``text`` and clears ``html``. Changes go through ``replace``. Mappings
    are plain dicts (picklable by Beam's coders); treat them as read-only.
    """

    id: str
    url: str
    text: str = ""
    date: str = ""  # ISO 8601 (WARC-Date), "" when unknown
    source: str = ""  # the file the document came from
    html: str | None = None
    language: str = ""
    language_score: float = 0.0
    truncated: bool = False  # WARC-Truncated was set on the record
    # Compact per-stage signals ("gopher_quality.word_count": 212.0) kept on kept documents
    # too, so thresholds can be re-tuned later without re-running extraction.
    signals: Mapping[str, float] = field(default_factory=dict)

    def replace(self, **changes: Any) -> "Document":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Verdict:
    """What a stage decided about one document.

    ``keep``: pass it on; ``doc`` is the rewritten document for rewriters (None: unchanged);
    on a drop, ``doc`` may carry what the stage learnt (e.g. the language) for rejects/.
    ``reason``: for drops, a snake_case constant prefixed by the stage
    (``gopher_quality.word_count_low``). ``signals``: the measured values behind the
    decision, reported for kept and dropped documents alike (keys without the stage prefix).
    """

    keep: bool
    reason: str | None = None
    signals: Mapping[str, float] = field(default_factory=dict)
    doc: Document | None = None


def keep(doc: Document | None = None, **signals: float) -> Verdict:
    return Verdict(True, None, signals, doc)


def drop(reason: str, **signals: float) -> Verdict:
    return Verdict(False, reason, signals)


class Stage:
    """Base of every per-document stage (filters and rewriters).

    Subclasses are frozen dataclasses whose fields are their parameters (SPEC defaults),
    so a YAML mapping loads straight into them. ``name`` is the config name; ``reasons``
    lists every drop reason it can emit. Heavy resources (models, word lists) are loaded
    in ``setup()`` (called once per worker by ``pipeline/``) into attributes whose names
    start with ``_``; those are never pickled, so shipping a stage to workers stays cheap.
    Every subclass defines ``__call__(doc) -> Verdict``.
    """

    name: ClassVar[str] = ""
    reasons: ClassVar[tuple[str, ...]] = ()

    def setup(self) -> None:
        """Load heavy resources; safe to call more than once."""

    def teardown(self) -> None:
        """Release what ``setup`` started (helper processes)."""

    def _set(self, attr: str, value: Any) -> None:
        """Store a loaded resource on a frozen instance."""
        object.__setattr__(self, attr, value)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class Rewriter(Stage):
    """A stage that edits the text (``rewrite(text) -> (new_text, signals)``, defined by the
    subclass) and drops the document when ``failing(signals)`` names a rule."""

    def failing(self, signals: Mapping[str, float]) -> tuple[str, ...]:
        return ()

    def __call__(self, doc: Document) -> Verdict:
        new_text, signals = self.rewrite(doc.text)  # type: ignore[attr-defined]
        failed = self.failing(signals)
        if failed:
            return drop(failed[0], **signals)
        if new_text == doc.text:
            return keep(**signals)
        return keep(doc.replace(text=new_text), **signals)


def apply_stage(stage: Stage, doc: Document) -> tuple[Document | None, Verdict]:
    """Run one stage on one document: (kept document or None, the verdict).

    The kept document carries the verdict's signals under ``<stage>.<signal>`` keys.
    This is the one place that turns a verdict into the next document.
    """
    return apply_verdict(stage, doc, stage(doc))


def apply_verdict(stage: Stage, doc: Document, verdict: Verdict) -> tuple[Document | None, Verdict]:
    """``apply_stage`` for a verdict already made (stages that decide in batches)."""
    if not verdict.keep:
        return None, verdict
    out = verdict.doc if verdict.doc is not None else doc
    if verdict.signals:
        merged = dict(out.signals)
        prefix = stage.name + "."
        for key, value in verdict.signals.items():
            merged[prefix + key] = value
        out = dataclasses.replace(out, signals=merged)
    return out, verdict


@dataclass(frozen=True)
class Rejection:
    """A dropped document with the stage and reason that dropped it (for rejects/)."""

    stage: str
    reason: str
    doc: Document
    signals: Mapping[str, float] = field(default_factory=dict)


class GlobalStage:
    """Base of stages that must see all documents at once (deduplication).

    Subclasses are frozen dataclasses of parameters only; ``pipeline/beam/dedup_transforms.py`` maps each
    to a Beam PTransform. The pure logic they use lives in ``dedup/``.
    """

    name: ClassVar[str] = ""
    reasons: ClassVar[tuple[str, ...]] = ()
