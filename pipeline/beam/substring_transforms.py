"""Beam wiring of exact_substring_dedup (the algorithm: dedup/substring.py).

Documents → (part, document) by a hash of the id → GroupByKey → one part at a time through
``dedup_part``, on whichever worker holds it: a part is the unit of memory (its documents,
token ids and suffix array), so ``parts`` bounds what one worker holds. The number of parts
is ``parts`` itself, or for ``parts: auto`` the input's tokens (the stage's tokenizer, summed
by ``CombineAll``; 0 for no input) over ``part_tokens``, rounded up. That number reaches the
documents as main input, not as a side input (Beam's local multi-process runner lost main-input
elements of steps waiting for one: README, Deduplication at scale): it is sent to each of
``BUCKETS`` buckets, the documents are grouped by bucket (a hash of the id) with it, and each
bucket keys its documents by part. The part's documents
are ordered by the survivor key before anything is compared, so the result depends on
neither bundling, worker count nor input order. Counts follow dedup_transforms' conventions
(``_Counting``: one Tally per bundle and Beam Metrics).
"""
from __future__ import annotations

import hashlib

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from webrefine.dedup import substring
from webrefine.dedup.substring import SPAN_TEXT_CHARS, ExactSubstringDedup
from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.document import Rejection
from webrefine.pipeline.beam.combine_all import CombineAll
from webrefine.pipeline.beam.dedup_transforms import REJECTED, TALLY, _Counting
from webrefine.pipeline.stats.tally import Tally


BUCKETS = 1024  # parts: auto: documents meet the part count in this many groups
DOC, COUNT = 0, 1


class _KeyByPart(_Counting):
    """A document → (its part, it), the part count known when the graph is built."""

    def process(self, doc):
        self.flow("in")
        yield self.stage.part(doc.id), doc


class _KeyBucketByPart(_Counting):
    """(bucket, [(COUNT, parts), (DOC, document)…]) → (part, document) for each document."""

    def process(self, kv):
        values = kv[1]
        n_parts = next(v for tag, v in values if tag == COUNT)  # first pass: the count
        for tag, doc in values:  # second pass: the documents
            if tag == DOC:
                self.flow("in")
                yield substring.part_of(doc.id, n_parts), doc


def _bucket(doc) -> tuple[int, tuple[int, object]]:
    return substring.part_of(doc.id, BUCKETS), (DOC, doc)


def _to_buckets(n_parts: int):
    return [(b, (COUNT, n_parts)) for b in range(BUCKETS)]


def _count_tokens(doc, tokenizer: str) -> int:
    # cached per text (filters/tokenizer.py), shared with the stage's tokens_in count when the
    # tokenizers agree (the defaults): counting again is nearly free on the same worker
    return tokenizers.get(tokenizer).count(doc.text)


def _parts_tally(n_parts: int, name: str) -> Tally:
    """The number of parts, counted once (from the singleton, not per bundle): the same on every
    runner. ``parts`` (per part cut) counts only the parts that received documents."""
    tally = Tally()
    tally.count(f"{name}.parts_planned", n_parts)
    return tally


class _CutPart(_Counting):
    """One part → its documents with repeated spans cut, rejections for those left too short."""

    def process(self, kv):
        stage = self.stage
        name, reason = stage.name, stage.reasons[0]
        self.counts["parts"] += 1
        for out in substring.dedup_part(stage, kv[1]):
            signals = {"chars_cut": float(out.chars_cut), "tokens_cut": float(out.tokens_cut)}
            for key, value in signals.items():
                self.tally.observe(f"{name}.{key}", value)
            if out.spans:
                self.counts["documents_cut"] += 1
                self.counts["spans_cut"] += len(out.spans)
                self.flow("chars_cut", out.chars_cut)
                self.flow("tokens_cut", out.tokens_cut)
                self._sample_spans(out)
            doc = out.doc if not out.spans else out.doc.replace(text=out.text)
            if out.dropped:
                self.flow(f"dropped.{reason}")
                yield TaggedOutput(REJECTED, Rejection(name, reason, doc, signals))
                continue
            self.flow("out")
            yield doc.replace(signals={**doc.signals, **{f"{name}.{k}": v for k, v in signals.items()}})

    def _sample_spans(self, out: substring.Outcome) -> None:
        """The most repeated cut spans (by occurrences within their part), for the report. An
        item depends on the span's text alone, so the list is the same on every runner."""
        for span in out.spans:
            text = out.doc.text[span.start:span.end].strip()
            key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
            self.tally.top(f"{self.stage.name}.cut_spans", key=key, score=span.occurrences,
                           item={"text": text[:SPAN_TEXT_CHARS], "chars": len(text),
                                 "occurrences": span.occurrences})


class ExactSubstringDedupTransform(beam.PTransform):
    def __init__(self, stage: ExactSubstringDedup) -> None:
        super().__init__(label=None)
        self.stage = stage

    def expand(self, docs):
        stage = self.stage
        if stage.parts == substring.AUTO:
            n_parts = (docs
                       | "CountTokens" >> beam.Map(_count_tokens, stage.tokenizer)
                       | "SumTokens" >> CombineAll(sum, 0)
                       | "PartCount" >> beam.Map(substring.part_count, stage.part_tokens))
            keyed = ((docs | "ToBuckets" >> beam.Map(_bucket), n_parts | "CountToBuckets" >> beam.FlatMap(_to_buckets))
                     | "DocsAndCount" >> beam.Flatten()
                     | "GroupByBucket" >> beam.GroupByKey()
                     | "KeyByPart" >> beam.ParDo(_KeyBucketByPart(stage)).with_outputs(TALLY, main="keyed"))
        else:
            n_parts = docs.pipeline | "PartCount" >> beam.Create([stage.parts])
            keyed = docs | "KeyByPart" >> beam.ParDo(_KeyByPart(stage)).with_outputs(TALLY, main="keyed")
        planned = n_parts | "PartsTally" >> beam.Map(_parts_tally, stage.name)
        cut = (keyed.keyed
               | "GroupByPart" >> beam.GroupByKey()
               | "CutPart" >> beam.ParDo(_CutPart(self.stage)).with_outputs(REJECTED, TALLY, main="kept"))
        return {
            "kept": cut.kept,
            "rejected": cut[REJECTED],
            "tallies": (planned, keyed[TALLY], cut[TALLY]) | "Tallies" >> beam.Flatten(),
        }
