"""The DoFns that wrap pure stages: counting, rejects and tallies are written once, here.

Each DoFn keeps a Tally per bundle and emits it on the ``tally`` output when the bundle
ends; the same numbers go to Beam Metrics (namespace ``webrefine``) for live monitoring.
"""
from __future__ import annotations

import dataclasses
import gc
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from filters import resources
from filters.base import Document, Rejection, Stage, Verdict, apply_stage, apply_verdict
from pipeline import progress
from pipeline.config import ReadConfig
from pipeline.tally import Tally
from pipeline.warc import read_warc

TALLY = "tally"
REJECTED = "rejected"
METRICS_NAMESPACE = "webrefine"


def open_beam_file(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def install_opener() -> None:
    """Let filters open gs://, s3:// and local resources through Beam's FileSystems."""
    resources.set_opener(open_beam_file)


def _global(value: Any) -> WindowedValue:
    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


def freeze_heap() -> None:
    """Move every object alive now (Beam, the libraries, the models: about a million once a
    stage is set up) out of the garbage collector's reach, so its full collections, and the
    one at interpreter exit, stop walking them: about 1 CPU-s less per worker process on
    cc-sample with 2 multi-process workers. Cycles among them are never collected, which
    costs nothing here: they live as long as the process."""
    gc.freeze()


class TallyingDoFn(beam.DoFn):
    """Base: a fresh Tally per bundle, flushed to the ``tally`` output and to Metrics.

    ``rejects`` is a per-bundle bottom-k sample of Rejections, emitted on ``rejected``.
    """

    def __init__(self, progress_dir: str | None = None) -> None:
        self.progress_dir = progress_dir

    def start_bundle(self) -> None:
        self.tally = Tally()
        self.rejects = Tally()

    def finish_bundle(self) -> Iterable[Any]:
        rejects, self.rejects = self.rejects, Tally()
        for reason in sorted(rejects.samples):
            for rejection in rejects.sample_items(reason):
                yield beam.pvalue.TaggedOutput(REJECTED, _global(rejection))
        tally, self.tally = self.tally, Tally()
        if not tally:
            return
        for key, n in tally.counts.items():
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, key).inc(n)
        if self.progress_dir:
            progress.flush(self.progress_dir)
        yield beam.pvalue.TaggedOutput(TALLY, _global(tally))


class ReadWarcFn(TallyingDoFn):
    """WARC path → Documents (HTML still undecoded into text)."""

    def __init__(self, cfg: ReadConfig, progress_dir: str | None = None) -> None:
        super().__init__(progress_dir)
        self.cfg = cfg

    def setup(self) -> None:
        install_opener()

    def process(self, path: str) -> Iterable[Document]:
        seen = self.tally.counts["input.responses"]
        for doc in read_warc(lambda: open_beam_file(path), path, self.cfg, self.tally):
            if self.progress_dir:
                now = self.tally.counts["input.responses"]
                progress.tick(self.progress_dir, "responses", now - seen)
                seen = now
            yield doc
        if self.progress_dir:
            progress.tick(self.progress_dir, "responses", self.tally.counts["input.responses"] - seen)
            progress.file_done(self.progress_dir, path)


class ApplyStageFn(TallyingDoFn):
    """One per-document stage: kept documents on the main output, drops on ``rejected``."""

    def __init__(self, stage: Stage, reject_text_chars: int, rejects_per_reason: int,
                 progress_dir: str | None = None) -> None:
        super().__init__(progress_dir)
        self.stage = stage
        self.reject_text_chars = reject_text_chars
        self.rejects_per_reason = rejects_per_reason  # -1: all, 0: none, k: bottom-k per bundle

    def setup(self) -> None:
        install_opener()
        self.stage.setup()
        freeze_heap()
        self.prefix = f"stage.{self.stage.name}."
        self.failing = getattr(self.stage, "failing", None)
        # Stages that work on several documents at once (extraction with a process pool).
        self.streaming = getattr(self.stage, "streaming", False)

    def teardown(self) -> None:
        self.stage.teardown()

    def process(self, doc: Document) -> Iterable[Any]:
        if self.streaming:
            for done, verdict in self.stage.submit(doc):
                yield from self._account(done, *apply_verdict(self.stage, done, verdict))
            return
        yield from self._account(doc, *apply_stage(self.stage, doc))

    def finish_bundle(self) -> Iterable[Any]:
        if self.streaming:  # pages still in the helpers belong to this bundle
            for done, verdict in self.stage.drain():
                for out in self._account(done, *apply_verdict(self.stage, done, verdict)):
                    if isinstance(out, beam.pvalue.TaggedOutput):
                        yield beam.pvalue.TaggedOutput(out.tag, _global(out.value))
                    else:
                        yield _global(out)
        yield from super().finish_bundle()

    def _account(self, doc: Document, out: Document | None, verdict: Verdict) -> Iterable[Any]:
        tally, name = self.tally, self.stage.name
        chars = len(doc.text) if doc.text else len(doc.html or "")
        tally.count(self.prefix + "in")
        tally.count(self.prefix + "chars_in", chars)
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
            yield out
            return
        reason = verdict.reason or f"{name}.unknown"
        tally.count(self.prefix + "dropped." + reason)
        tally.count(self.prefix + "dropped_chars." + reason, chars)
        tally.sample("dropped." + reason, doc.id, sample_row(verdict.doc or doc, verdict.signals))
        if self.rejects_per_reason:
            dropped = verdict.doc if verdict.doc is not None else doc
            dropped = dropped.replace(text=dropped.text[: self.reject_text_chars], html=None)
            rejection = Rejection(name, reason, dropped, dict(verdict.signals))
            if self.rejects_per_reason < 0:
                yield beam.pvalue.TaggedOutput(REJECTED, rejection)
            else:
                # Sample within the bundle already: what leaves this step stays bounded
                # whatever the input size (the global bottom-k is exact over these).
                self.rejects.sample(reason, dropped.id, rejection, self.rejects_per_reason)


def sample_row(doc: Document, signals: dict | None = None, text_chars: int = 600) -> dict[str, Any]:
    """A small, JSON-ready view of a document for the samples in stats.json and the report."""
    return {
        "id": doc.id, "url": doc.url, "language": doc.language,
        "text": (doc.text or "")[:text_chars],
        "signals": {k: round(float(v), 4) for k, v in (signals if signals is not None else doc.signals).items()},
    }


class DedupDropsFn(TallyingDoFn):
    """Duplicates removed by a dedup stage: samples for stats.json and, bounded, rejects/."""

    def __init__(self, rejects_per_reason: int, reject_text_chars: int) -> None:
        super().__init__(None)
        self.k, self.text_chars = rejects_per_reason, reject_text_chars

    def process(self, rejection: Rejection) -> Iterable[Any]:
        doc = rejection.doc
        self.tally.count(f"stage.{rejection.stage}.dropped_chars.{rejection.reason}", len(doc.text or ""))
        self.tally.sample("dropped." + rejection.reason, doc.id, sample_row(doc, rejection.signals))
        if not self.k:
            return
        rejection = dataclasses.replace(rejection, doc=doc.replace(text=doc.text[: self.text_chars], html=None))
        if self.k < 0:
            yield beam.pvalue.TaggedOutput(REJECTED, rejection)
        else:
            self.rejects.sample(rejection.reason, doc.id, rejection, self.k)


class CountCharsFn(TallyingDoFn):
    """Characters of text entering or leaving a dedup stage (``stage.<name>.chars_in|out``)."""

    def __init__(self, key: str) -> None:
        super().__init__(None)
        self.key = key

    def process(self, doc: Document) -> Iterable[Document]:
        self.tally.count(self.key, len(doc.text))
        yield doc


class CountOutputFn(TallyingDoFn):
    """The last step before the shard writer: counts output documents and characters."""

    def process(self, doc: Document) -> Iterable[Document]:
        self.tally.sample("kept", doc.id, sample_row(doc))
        self.tally.count("output.documents")
        self.tally.count("output.chars", len(doc.text))
        if self.progress_dir:
            progress.tick(self.progress_dir, "documents")
        yield doc


class MergeTallies(beam.CombineFn):
    def create_accumulator(self) -> Tally:
        return Tally()

    def add_input(self, acc: Tally, tally: Tally) -> Tally:
        return acc.merge(tally)

    def merge_accumulators(self, accs: Iterable[Tally]) -> Tally:
        return Tally.merged(accs)

    def extract_output(self, acc: Tally) -> Tally:
        return acc


class SampleRejects(beam.CombineFn):
    """A bottom-k sample of rejections per (stage, reason): bounded and deterministic."""

    def __init__(self, per_reason: int) -> None:
        self.k = per_reason

    def create_accumulator(self) -> Tally:
        return Tally()

    def add_input(self, acc: Tally, rej: Rejection) -> Tally:
        acc.sample(rej.reason, rej.doc.id, rej, self.k)
        return acc

    def merge_accumulators(self, accs: Iterable[Tally]) -> Tally:
        return Tally.merged(accs)

    def extract_output(self, acc: Tally) -> list[Rejection]:
        return [item for reason in sorted(acc.samples) for item in acc.sample_items(reason)]
