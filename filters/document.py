"""The small types every stage speaks: a Document in, a Verdict out.

No Beam here: each rule is plain Python, unit-tested with strings. ``pipeline/beam`` wraps
stages in DoFns and does all the counting, so a stage never counts anything itself.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping


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
    # Tokens of ``text`` under the run's ``output.tokenizer``, counted once by the pipeline's
    # accounting (pipeline/document_phase.py) and carried, so the per-stage and output token
    # counts do not tokenize the same text again after every shuffle; -1: not counted yet.
    n_tokens: int = -1

    def replace(self, **changes: Any) -> "Document":
        if "text" in changes and "n_tokens" not in changes and changes["text"] is not self.text:
            changes["n_tokens"] = -1  # a new text: its count is no longer known
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


@dataclass(frozen=True)
class Rejection:
    """A dropped document with the stage and reason that dropped it (for rejects/)."""

    stage: str
    reason: str
    doc: Document
    signals: Mapping[str, float] = field(default_factory=dict)
    # A dedup drop for an earlier run's kept document (--dedup-against): (that run's path, the document's id)
    matched: tuple[str, str] | None = None
