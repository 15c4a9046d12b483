"""The last pass of the dedup stages: each reference's fate back to its document.

The dedup stages (dedup_transforms.py) compare DocRefs while the texts stay in the work area
(dedup/refs.py). Every reference that entered them leaves as exactly one fate: a kept DocRef
(with the signals the stages added) or a Rejection whose ``doc`` is the DocRef. ``Resolve``
groups the fates by work-area chunk and reads each chunk once: a kept row becomes its
Document, a dropped row its Rejection with the Document in it. Grouped values are a few
hundred bytes a document; the documents themselves are made where they are written, so they
are never held by a shuffle.
"""
from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from webrefine.dedup.refs import DocRef, fate_chunk, with_signals
from webrefine.pipeline.beam.dofns import REJECTED
from webrefine.pipeline.beam.per_file import documents_at


class _ResolveChunk(beam.DoFn):
    """(chunk, [fates]) → its kept Documents (main) and Rejections (``rejected``), row order."""

    def __init__(self, work: str) -> None:
        self.work = work

    def process(self, kv):
        (file, offset), fates = kv
        by_row: dict[int, list] = {}
        for fate in fates:
            ref = fate if isinstance(fate, DocRef) else fate.doc
            by_row.setdefault(ref.row, []).append(fate)
        seen = 0
        for row, doc in documents_at(self.work, file, offset, by_row):
            seen += 1
            for fate in by_row[row]:
                if isinstance(fate, DocRef):
                    yield with_signals(doc, fate)
                else:
                    yield TaggedOutput(REJECTED, dataclasses.replace(fate, doc=with_signals(doc, fate.doc)))
        if seen != len(by_row):
            raise RuntimeError(f"the work area's results for {file} lack {len(by_row) - seen} of the rows the "
                               "dedup stages decided: the work area is damaged; run again with --overwrite")


class Resolve(beam.PTransform):
    """(kept DocRefs, Rejections of DocRefs) → {"kept": Documents, "rejected": Rejections}."""

    def __init__(self, work: str) -> None:
        super().__init__()
        self.work = work

    def expand(self, fates):
        kept, rejected = fates
        out = ((kept, rejected) | "Fates" >> beam.Flatten()
               | "ByChunk" >> beam.Map(lambda fate: (fate_chunk(fate), fate))
               | "GroupByChunk" >> beam.GroupByKey()
               | "Read" >> beam.ParDo(_ResolveChunk(self.work)).with_outputs(REJECTED, main="kept"))
        return {"kept": out.kept, "rejected": out[REJECTED]}
