"""The stage API: what every entry of the stage table (``pipeline/config.py``) is.

- ``Stage``: a per-document stage, a frozen dataclass whose fields are its parameters (the
  published defaults, see docs/rules.md), so a YAML mapping loads straight into it.
  ``name`` is its config name, ``reasons`` every drop reason it can emit, ``signal_names``
  every signal it reports, ``rules`` its threshold rules.
- ``Filter``: measures signals and drops a document that fails a rule; never changes it.
- ``Rewriter``: edits the text (``rewrite``) and drops a document that fails a rule.
- ``GlobalStage``: a stage that must see all documents at once (deduplication).

A rule is declared once, as a ``Rule`` in the class's ``rules``: the signal it compares,
how, and the parameter holding the threshold. ``failing()``, the report's what-if curves
and overlap tables, and the tests all read that declaration.
"""
from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from webrefine.filters.document import Document, Verdict, drop, keep

# How a failing value compares with the threshold, and the sign the report shows.
DIRECTIONS = {"min": "<", "min_le": "≤", "max": ">", "max_ge": "≥"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "min": operator.lt, "min_le": operator.le, "max": operator.gt, "max_ge": operator.ge,
}


@dataclass(frozen=True)
class Rule:
    """One drop rule: a document fails it when ``signal`` compares with the threshold as
    ``direction`` says (``min``: value < threshold, ``min_le``: <=, ``max``: >, ``max_ge``: >=).

    ``name`` is the reason without the stage prefix; the stage class fills in ``stage``.
    The threshold is the stage parameter ``field``, or ``fixed`` when ``field`` is None.
    """

    name: str
    signal: str
    direction: str
    field: str | None
    fixed: float = 0.0
    enabled_by: str | None = None  # a bool parameter that must be true for the rule to apply
    disabled_by: str | None = None  # a bool parameter that turns the rule off
    zero_exempt_by: str | None = None  # a bool parameter: a value of exactly 0 passes
    label: str = ""  # tells apart two rules of one reason (a range)
    note: str = ""  # shown in the report
    stage: str = ""

    @property
    def reason(self) -> str:
        return f"{self.stage}.{self.name}"

    @property
    def key(self) -> str:
        return self.reason + (f"#{self.label}" if self.label else "")

    def threshold(self, params: Mapping[str, Any]) -> float | None:
        """The threshold under ``params`` (a stage's parameters); None when they lack it."""
        if self.field is None:
            return self.fixed
        value = params.get(self.field)
        return None if value is None else float(value)

    def enabled(self, params: Mapping[str, Any]) -> bool:
        if self.enabled_by and not params.get(self.enabled_by, False):
            return False
        return not (self.disabled_by and params.get(self.disabled_by, False))

    def fails(self, value: float, threshold: float, params: Mapping[str, Any] | None = None) -> bool:
        """Whether ``value`` fails this rule at ``threshold``."""
        if self.zero_exempt_by and params and params.get(self.zero_exempt_by) and value == 0:
            return False
        return _OPS[self.direction](value, threshold)


class Declared:
    """What every entry of the stage table declares, as class attributes: its config name,
    every drop reason, every signal it reports, its rules, what it reads."""

    name: ClassVar[str] = ""
    reasons: ClassVar[tuple[str, ...]] = ()
    signal_names: ClassVar[tuple[str, ...]] = ()
    rules: ClassVar[tuple[Rule, ...]] = ()
    # What the stage reads: "text" (extracted text), "url", or "html" (it turns HTML into
    # text: extraction, which text datasets skip; only "url" stages may run before it).
    input: ClassVar[str] = "text"
    # Signals without a rule whose histogram the report shows anyway (sizes, say).
    report_histograms: ClassVar[tuple[str, ...]] = ()
    # True: the verdict's reason is the first failing rule, and ``failing()`` says which
    # rules a document fails (the pipeline counts every combination, for the overlap tables).
    decides_by_rules: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "rules" in cls.__dict__:  # the rules get their stage; its reasons are theirs
            cls.rules = tuple(dataclasses.replace(r, stage=cls.name) for r in cls.rules)
            if "reasons" not in cls.__dict__:
                cls.reasons = tuple(dict.fromkeys(r.reason for r in cls.rules))


class Stage(Declared):
    """Base of every per-document stage (filters and rewriters).

    Heavy resources (models, word lists) are loaded in ``setup()`` (called once per worker
    by ``pipeline/beam``) into attributes whose names start with ``_``; those are never
    pickled, so shipping a stage to workers stays cheap. Every subclass defines
    ``__call__(doc) -> Verdict``.
    """

    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def failing(self, signals: Mapping[str, float]) -> tuple[str, ...]:
        """The reasons of every rule ``signals`` fail, in declaration order."""
        checks = self.__dict__.get("_checks")
        if checks is None:
            checks = self._compile_checks()
        out: list[str] = []
        for reason, signal, test in checks:
            if test(signals[signal]) and reason not in out:
                out.append(reason)
        return tuple(out)

    def _compile_checks(self) -> tuple:
        params = self.params()
        checks = []
        for rule in self.rules:
            if not rule.enabled(params):
                continue
            op, t = _OPS[rule.direction], rule.threshold(params)
            if rule.zero_exempt_by and params.get(rule.zero_exempt_by):
                test = (lambda op, t: lambda v: v != 0 and op(v, t))(op, t)
            else:
                test = (lambda op, t: lambda v: op(v, t))(op, t)
            checks.append((rule.reason, rule.signal, test))
        self._set("_checks", tuple(checks))
        return self.__dict__["_checks"]

    def setup(self) -> None:
        """Load heavy resources; safe to call more than once."""

    def teardown(self) -> None:
        """Release what ``setup`` started (helper processes)."""

    def prepare(self, docs: list[Document]) -> None:
        """Optional: the documents about to be passed one by one, given together first, so a
        stage can do their costly part in one go (same verdicts; ``LanguageFilter``). Called
        only where every one of them then reaches the stage (pipeline/document_phase.py)."""

    def _set(self, attr: str, value: Any) -> None:
        """Store a loaded resource on a frozen instance."""
        object.__setattr__(self, attr, value)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class Filter(Stage):
    """Measures a document (``measure``; by default ``signals(text)``, defined by the
    subclass) and drops it for the first rule it fails; never changes it."""

    decides_by_rules: ClassVar[bool] = True

    def measure(self, doc: Document) -> dict[str, float]:
        return self.signals(doc.text)  # type: ignore[attr-defined]

    def __call__(self, doc: Document) -> Verdict:
        signals = self.measure(doc)
        failed = self.failing(signals)
        return drop(failed[0], **signals) if failed else keep(**signals)


class Rewriter(Stage):
    """Edits the text (``rewrite(text) -> (new_text, signals)``, defined by the subclass)
    and drops the document for the first rule its signals fail."""

    decides_by_rules: ClassVar[bool] = True

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


class GlobalStage(Declared):
    """Base of stages that must see all documents at once (deduplication).

    Subclasses are frozen dataclasses of parameters only; ``pipeline/beam/dedup_transforms.py``
    maps each to a Beam PTransform. The pure logic they use lives in ``dedup/``.
    """
