"""The per-document phase of a run, Beam-free: every stage before deduplication applied to
the documents of each input file, with all their accounting per file (counts in and out,
signal histograms, the rules each document fails, samples, rejected documents) and the time
each stage takes. ``pipeline/beam/per_file.py`` feeds it one file after another and commits
each file's share to the work area (``pipeline/workarea.py``) once the phase says the file is
through. With extraction helpers, a file's last pages are still being extracted while the
next file's first pages go out, so the helpers do not wait at each file's end (README,
Throughput against datatrove).

Stage times (``timing.<stage>.wall_s`` and ``.cpu_s`` in the tally; ``timings`` in
stats.json) are measured around each stage's calls in the worker: wall seconds, and the
worker thread's CPU seconds. Extraction with helper processes (``Extract.streaming``) does
its work in those helpers: its CPU seconds here are only the hand-over, and its wall seconds
are the time the worker waited for them.
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Iterable, Iterator

from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.document import Document, Rejection, Verdict
from webrefine.filters.stage import Stage, apply_stage, apply_verdict
from webrefine.pipeline.stats.tally import Tally


def sample_row(doc: Document, signals: dict | None = None, text_chars: int = 600) -> dict[str, Any]:
    """A small, JSON-ready view of a document for the samples in stats.json and the report."""
    return {
        "id": doc.id, "url": doc.url, "language": doc.language,
        "text": (doc.text or "")[:text_chars],
        "signals": {k: round(float(v), 4) for k, v in (signals if signals is not None else doc.signals).items()},
    }


class StageTimer:
    """Wall and CPU seconds of one named step, added to a tally."""

    def __init__(self, name: str) -> None:
        self.wall_key, self.cpu_key = f"timing.{name}.wall_s", f"timing.{name}.cpu_s"

    def call(self, tally: Tally, fn, *args):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args)
        finally:
            tally.counts[self.wall_key] += time.perf_counter() - wall
            tally.counts[self.cpu_key] += time.thread_time() - cpu

    def iterate(self, tally: Tally, items: Iterable[Any]) -> Iterator[Any]:
        """``items``, timing only the work of producing each one (a reader)."""
        it = iter(items)
        while True:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                tally.counts[self.wall_key] += time.perf_counter() - wall
                tally.counts[self.cpu_key] += time.thread_time() - cpu
            yield item


class StageStep:
    """One per-document stage and its accounting."""

    def __init__(self, stage: Stage, reject_text_chars: int, rejects_per_reason: int,
                 tokenizer: str = tokenizers.DEFAULT) -> None:
        self.stage = stage
        self.tokenizer = tokenizer
        self.reject_text_chars = reject_text_chars
        self.rejects_per_reason = rejects_per_reason  # -1: all, 0: none, k: bottom-k per file
        self.prefix = f"stage.{stage.name}."
        self.timer = StageTimer(stage.name)
        self.streaming = bool(getattr(stage, "streaming", False))  # pages go through submit/drain
        self.failing = None

    def setup(self) -> None:
        self.tokens = tokenizers.get(self.tokenizer)
        self.stage.setup()
        # Stages that decide by their rules: count every rule a document fails.
        self.failing = self.stage.failing if self.stage.decides_by_rules else None

    def account(self, tally: Tally, rejects: Tally, doc: Document, out: Document | None,
                verdict: Verdict) -> tuple[Document | None, Rejection | None]:
        """Count one verdict; (the kept document or None, a Rejection to emit now or None)."""
        name = self.stage.name
        chars = len(doc.text) if doc.text else len(doc.html or "")
        tally.count(self.prefix + "in")
        tally.count(self.prefix + "chars_in", chars)
        if doc.text:  # tokens of text only (none for HTML); carried on the document, counted once
            doc = self.tokens.counted(doc)
            tally.count(self.prefix + "tokens_in", doc.n_tokens)
        for key, value in verdict.signals.items():
            # Documents and characters per signal value: what-if curves for every threshold.
            tally.observe(f"{name}.{key}", value)
            tally.observe(f"{name}.{key}#chars", value, chars)
        if self.failing is not None:
            # Every rule the document fails, not only the first: which filter "owns" a drop.
            failed = self.failing(verdict.signals)
            if failed:
                tally.count(f"{name}.fails." + "+".join(failed))
        if out is not None:
            tally.count(self.prefix + "out")
            tally.count(self.prefix + "chars_out", len(out.text) if out.text else len(out.html or ""))
            if out.text:
                if out.text is doc.text and out.n_tokens < 0:  # kept as it was: the count made above
                    out = out.replace(n_tokens=doc.n_tokens)
                out = self.tokens.counted(out)
                tally.count(self.prefix + "tokens_out", out.n_tokens)
            return out, None
        reason = verdict.reason or f"{name}.unknown"
        tally.count(self.prefix + "dropped." + reason)
        tally.count(self.prefix + "dropped_chars." + reason, chars)
        tally.sample("dropped." + reason, doc.id, sample_row(verdict.doc or doc, verdict.signals))
        if not self.rejects_per_reason:
            return None, None
        dropped = verdict.doc if verdict.doc is not None else doc
        dropped = dropped.replace(text=dropped.text[: self.reject_text_chars], html=None)
        rejection = Rejection(name, reason, dropped, dict(verdict.signals))
        if self.rejects_per_reason < 0:
            return None, rejection
        # Sampled per file already: what is kept stays bounded whatever the input size (the
        # global bottom-k over these is exact).
        rejects.sample(reason, dropped.id, rejection, self.rejects_per_reason)
        return None, None


# Documents a streaming stage keeps are handed on in groups of this many when the next stage
# prepares for them (``Stage.prepare``); a group waits for at most this many pages.
HAND_ON = 16
# What ``feed``, ``end`` and ``drain`` give, beside a file's documents and rejections, once
# none of that file's documents is left in the phase: the file is complete.
FILE_DONE = object()


class FileWork:
    """One input file's share of the phase: its accounting (``tally``, ``rejects``), how many
    of its documents are still in it (with an extraction helper, or held for a group), and
    whether all of it was read. Several files can be in the phase at once: the next file's
    pages go to the helpers while the last pages of one file are still extracted."""

    __slots__ = ("tally", "rejects", "held", "read")

    def __init__(self, tally: Tally, rejects: Tally) -> None:
        self.tally, self.rejects, self.held, self.read = tally, rejects, 0, False

    @property
    def done(self) -> bool:
        return self.read and self.held == 0


Item = tuple[FileWork, Any]  # (the file, a Document, a Rejection, or FILE_DONE)


class DocumentPhase:
    """Every per-document stage, in config order, over the documents of the input files.

    ``feed`` takes one file's documents and yields, for that file and for any earlier one still
    in the phase, the kept Documents and (with ``rejects_per_reason: -1``) every Rejection as it
    happens, each with its file; otherwise rejections are sampled into the file's ``rejects``
    tally. ``end`` says a file was read to its end; ``FILE_DONE`` comes for a file once none of
    its documents is left in the phase, so a file's end does not wait for its last pages (the
    helpers go on with the next file's). ``drain`` finishes every file. ``run`` is one file, whole.
    """

    def __init__(self, stages: Iterable[Stage], reject_text_chars: int, rejects_per_reason: int,
                 tokenizer: str = tokenizers.DEFAULT) -> None:
        self.steps = [StageStep(s, reject_text_chars, rejects_per_reason, tokenizer) for s in stages]
        # streaming steps whose next stage prepares for a group of documents, and their kept ones
        self.grouped = {j for j, step in enumerate(self.steps[:-1]) if step.streaming
                        and type(self.steps[j + 1].stage).prepare is not Stage.prepare}
        self.waiting: dict[int, list[tuple[Document, FileWork]]] = {}
        self.inflight: dict[int, FileWork] = {}  # id() of a document in a streaming step -> its file

    def setup(self) -> None:
        for step in self.steps:
            step.setup()

    def teardown(self) -> None:
        for step in self.steps:
            step.stage.teardown()

    def reset(self) -> None:
        """Forget every file in the phase (a bundle that failed half-way): their pages still
        with the helpers are waited for and thrown away, so none reaches a later file."""
        for step in self.steps:
            if step.streaming:
                step.stage.drain()
        self.waiting.clear()
        self.inflight.clear()

    def run(self, docs: Iterable[Document], tally: Tally, rejects: Tally) -> Iterator[Document | Rejection]:
        """One file's documents through every stage, to the end of its last page."""
        self.reset()  # a file given up half-way leaves no documents for this one
        work = FileWork(tally, rejects)
        for _, item in itertools.chain(self.feed(docs, work), self.end(work), self.drain()):
            if item is not FILE_DONE:
                yield item

    def feed(self, docs: Iterable[Document], work: FileWork) -> Iterator[Item]:
        for doc in docs:
            yield from self._from(0, doc, work)

    def end(self, work: FileWork) -> Iterator[Item]:
        work.read = True
        if work.done:
            yield work, FILE_DONE

    def drain(self) -> Iterator[Item]:
        """Every page still with the helpers and every held document, to the end."""
        for i, step in enumerate(self.steps):
            if step.streaming:
                for done, verdict in step.timer.call(self._tally_of_any(), step.stage.drain):
                    yield from self._returned(i, done, verdict)
                yield from self._hand_on(i)

    def _tally_of_any(self) -> Tally:
        """Where a drain's wait is timed: a file still in the phase (which one does not matter:
        the files' times are summed for stats.json), else a throwaway tally."""
        return next(iter(self.inflight.values())).tally if self.inflight else Tally()

    def _from(self, i: int, doc: Document, work: FileWork) -> Iterator[Item]:
        for j in range(i, len(self.steps)):
            step = self.steps[j]
            if step.streaming:  # verdicts come back for pages submitted earlier, in completion order
                self.inflight[id(doc)] = work
                work.held += 1
                for done, verdict in step.timer.call(work.tally, step.stage.submit, doc):
                    yield from self._returned(j, done, verdict)
                return
            out, verdict = step.timer.call(work.tally, apply_stage, step.stage, doc)
            kept, rejection = step.account(work.tally, work.rejects, doc, out, verdict)
            if rejection is not None:
                yield work, rejection
            if kept is None:
                return
            doc = kept
        yield work, doc

    def _returned(self, j: int, doc: Document, verdict: Verdict) -> Iterator[Item]:
        """A document back from streaming step ``j``, on its way, and its file's end if it was the last."""
        work = self.inflight.pop(id(doc))
        yield from self._after(j, doc, verdict, work)
        work.held -= 1
        if work.done:
            yield work, FILE_DONE

    def _after(self, j: int, doc: Document, verdict: Verdict, work: FileWork) -> Iterator[Item]:
        step = self.steps[j]
        out, verdict = apply_verdict(step.stage, doc, verdict)
        kept, rejection = step.account(work.tally, work.rejects, doc, out, verdict)
        if rejection is not None:
            yield work, rejection
        if kept is None:
            return
        if j not in self.grouped:
            yield from self._from(j + 1, kept, work)
            return
        group = self.waiting.setdefault(j, [])
        group.append((kept, work))
        work.held += 1
        if len(group) >= HAND_ON:
            yield from self._hand_on(j)

    def _hand_on(self, j: int) -> Iterator[Item]:
        """The documents streaming step ``j`` kept and holds, on to the next stage together: it
        prepares for all of them (timed as the first one's file's work), then they go on one by one."""
        group = self.waiting.pop(j, [])
        if not group:
            return
        step = self.steps[j + 1]
        step.timer.call(group[0][1].tally, step.stage.prepare, [doc for doc, _ in group])
        for doc, work in group:
            yield from self._from(j + 1, doc, work)
            work.held -= 1
            if work.done:
                yield work, FILE_DONE
