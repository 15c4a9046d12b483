"""The extraction step: the ``extract`` stage in a DoFn that keeps its helper processes busy.

With several helpers (``Extract.streaming``) pages are submitted one by one and their
verdicts collected as they finish, so one worker uses several cores while it goes on
reading; pages still in the helpers when the bundle ends are drained into that bundle.
Counting, rejects and tallies are ApplyStageFn's, as for every other stage.
"""
from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam

from webrefine.filters.document import Document
from webrefine.filters.extract import Extract
from webrefine.filters.stage import apply_stage, apply_verdict
from webrefine.pipeline.beam.dofns import ApplyStageFn, in_global_window


class ExtractFn(ApplyStageFn):
    stage: Extract

    def process(self, doc: Document) -> Iterable[Any]:
        if not self.stage.streaming:
            yield from self._account(doc, *apply_stage(self.stage, doc))
            return
        for done, verdict in self.stage.submit(doc):
            yield from self._account(done, *apply_verdict(self.stage, done, verdict))

    def finish_bundle(self) -> Iterable[Any]:
        if self.stage.streaming:  # pages still in the helpers belong to this bundle
            for done, verdict in self.stage.drain():
                for out in self._account(done, *apply_verdict(self.stage, done, verdict)):
                    if isinstance(out, beam.pvalue.TaggedOutput):
                        yield beam.pvalue.TaggedOutput(out.tag, in_global_window(out.value))
                    else:
                        yield in_global_window(out)
        yield from super().finish_bundle()
