"""Beam wiring of exact_substring_dedup (the algorithm: dedup/substring.py).

Documents → (part, document) by a hash of the id → GroupByKey → one part at a time through
``dedup_part``, on whichever worker holds it: a part is the unit of memory (its documents,
token ids and suffix array), so ``parts`` bounds what one worker holds. The part's documents
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
from webrefine.filters.document import Rejection
from webrefine.pipeline.beam.dedup_transforms import REJECTED, TALLY, _Counting


class _KeyByPart(_Counting):
    def process(self, doc):
        self.flow("in")
        yield self.stage.part(doc.id), doc


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
        keyed = docs | "KeyByPart" >> beam.ParDo(_KeyByPart(self.stage)).with_outputs(TALLY, main="keyed")
        cut = (keyed.keyed
               | "GroupByPart" >> beam.GroupByKey()
               | "CutPart" >> beam.ParDo(_CutPart(self.stage)).with_outputs(REJECTED, TALLY, main="kept"))
        return {
            "kept": cut.kept,
            "rejected": cut[REJECTED],
            "tallies": (keyed[TALLY], cut[TALLY]) | "Tallies" >> beam.Flatten(),
        }
