"""The DoFns around deduplication and the output: counting, rejects and tallies.

Each DoFn keeps a Tally per bundle and emits it on the ``tally`` output when the bundle
ends; the same numbers go to Beam Metrics (namespace ``webrefine``) for live monitoring.
The per-document stages run in ``per_file.py``, their accounting in ``pipeline/document_phase.py``.
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

from webrefine.dedup.refs import DocRef
from webrefine.filters import resources, tokenizer as tokenizers
from webrefine.filters.document import Document, Rejection
from webrefine.pipeline import progress
from webrefine.pipeline.document_phase import sample_row
from webrefine.pipeline.stats.tally import Tally

TALLY = "tally"
REJECTED = "rejected"
METRICS_NAMESPACE = "webrefine"


def open_beam_file(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def install_opener() -> None:
    """Let filters open gs://, s3:// and local resources through Beam's FileSystems."""
    resources.set_opener(open_beam_file)


def in_global_window(value: Any) -> WindowedValue:
    return WindowedValue(value, MIN_TIMESTAMP, [GlobalWindow()])


def freeze_heap() -> None:
    """Move every object alive now (Beam, the libraries, the models: about a million once a
    stage is set up) out of the garbage collector's reach, so its full collections, and the
    one at interpreter exit, stop walking them (README, Performance). Cycles among them are never collected, which
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
                yield beam.pvalue.TaggedOutput(REJECTED, in_global_window(rejection))
        tally, self.tally = self.tally, Tally()
        if not tally:
            return
        for key, n in tally.counts.items():
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, key).inc(n)
        if self.progress_dir:
            progress.flush(self.progress_dir)
        yield beam.pvalue.TaggedOutput(TALLY, in_global_window(tally))


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
    """Characters of text entering or leaving a dedup stage (``stage.<name>.chars_in|out``),
    and its tokens (``tokens_key``: ``stage.<name>.tokens_in|out``)."""

    def __init__(self, key: str, tokens_key: str | None = None, tokenizer: str = tokenizers.DEFAULT) -> None:
        super().__init__(None)
        self.key, self.tokens_key, self.tokenizer = key, tokens_key, tokenizer

    def setup(self) -> None:
        self.tokens = tokenizers.get(self.tokenizer)

    def process(self, doc: Document | DocRef) -> Iterable[Document | DocRef]:
        if isinstance(doc, DocRef):  # dedup/refs.py: counted where its text was read
            self.tally.count(self.key, doc.n_chars)
            if self.tokens_key:
                self.tally.count(self.tokens_key, doc.n_tokens)
            yield doc
            return
        self.tally.count(self.key, len(doc.text))
        if self.tokens_key:
            doc = self.tokens.counted(doc)  # carried from the per-document phase: counted once
            self.tally.count(self.tokens_key, doc.n_tokens)
        yield doc


class CountOutputFn(TallyingDoFn):
    """The last step before the shard writer: counts output documents, characters and tokens."""

    def __init__(self, progress_dir: str | None = None, tokenizer: str = tokenizers.DEFAULT) -> None:
        super().__init__(progress_dir)
        self.tokenizer = tokenizer

    def setup(self) -> None:
        self.tokens = tokenizers.get(self.tokenizer)

    def process(self, doc: Document) -> Iterable[Document]:
        self.tally.sample("kept", doc.id, sample_row(doc))
        self.tally.count("output.documents")
        self.tally.count("output.chars", len(doc.text))
        doc = self.tokens.counted(doc)  # carried from the earlier stages: counted once
        self.tally.count("output.tokens", doc.n_tokens)
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

    def add_input(self, acc: Tally, rej: Rejection | None) -> Tally:
        if rej is not None:  # None: CombineAll's neutral element
            acc.sample(rej.reason, rej.doc.id, rej, self.k)
        return acc

    def merge_accumulators(self, accs: Iterable[Tally]) -> Tally:
        return Tally.merged(accs)

    def extract_output(self, acc: Tally) -> list[Rejection]:
        return [item for reason in sorted(acc.samples) for item in acc.sample_items(reason)]
