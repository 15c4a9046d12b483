"""pipeline/document_phase.py: documents a streaming stage keeps go on to a stage that prepares
for them (Stage.prepare) in groups, with the verdicts and accounting of one at a time."""
from __future__ import annotations

import pytest

from webrefine.filters.document import Document, Rejection
from webrefine.filters.language import LanguageFilter
from webrefine.pipeline import document_phase
from webrefine.pipeline.cli import SAMPLE
from webrefine.pipeline.config import ReadConfig, parse_config
from webrefine.pipeline.document_phase import DocumentPhase
from webrefine.pipeline.io.warc import read_warc
from webrefine.pipeline.stats.tally import Tally

STAGES = ["url_filter", {"extract": {"processes": 2}}, "language", "gopher_repetition"]
PREPARE = LanguageFilter.prepare


def run_phase(grouped: bool, monkeypatch) -> tuple[list, dict, list[int]]:
    phase = DocumentPhase(parse_config({"stages": STAGES}).stages, 200, -1)
    groups: list[int] = []

    def counting(self, docs):
        groups.append(len(docs))
        return PREPARE(self, docs)

    monkeypatch.setattr(LanguageFilter, "prepare", counting)
    if not grouped:
        phase.grouped = set()
    phase.setup()
    try:
        tally, rejects = Tally(), Tally()
        docs = read_warc(lambda: open(SAMPLE, "rb"), SAMPLE, ReadConfig(), tally)
        out = list(phase.run(docs, tally, rejects))
        language = phase.steps[2].stage
        assert not language.__dict__.get("_prepared")  # every prepared text was asked for
    finally:
        phase.teardown()
    kept = sorted((d.id, d.language, d.language_score, d.text) for d in out if isinstance(d, Document))
    rejected = sorted((r.stage, r.reason, r.doc.id) for r in out if isinstance(r, Rejection))
    counts = {k: v for k, v in tally.counts.items() if not k.startswith("timing.")}
    return [kept, rejected], counts, groups


def test_grouped_hand_on_gives_the_verdicts_and_counts_of_one_at_a_time(monkeypatch):
    one, one_counts, no_groups = run_phase(False, monkeypatch)
    grouped, grouped_counts, groups = run_phase(True, monkeypatch)
    assert not no_groups
    assert grouped == one and grouped_counts == one_counts
    assert len(one[0]) >= 5 and one[1]  # documents kept and rejected, by language among others
    assert groups and max(groups) <= document_phase.HAND_ON and sum(groups) == one_counts["stage.language.in"]


def test_prepared_predictions_are_the_models_and_only_for_the_same_text():
    lid = LanguageFilter()
    texts = ["The quick brown fox jumps over the lazy dog near the river bank.",
             "Der schnelle braune Fuchs springt über den faulen Hund.", "   "]
    docs = [Document(str(i), "https://example.com/", text=t) for i, t in enumerate(texts)]
    lid.prepare(docs)
    assert set(lid._prepared) == {id(texts[0]), id(texts[1])}  # blank text: nothing to predict
    assert lid.predict(texts[0]) == lid._predict(texts[0])
    copy = "".join(texts[1])  # equal, another object: predicted anew (the entry stays)
    assert lid.predict(copy) == lid._predict(texts[1]) and id(texts[1]) in lid._prepared
    assert lid.predict(texts[1])[0] == "de" and not lid._prepared


def test_only_a_streaming_stage_followed_by_a_preparing_one_groups():
    def grouped(stages):
        return DocumentPhase(parse_config({"stages": stages}).stages, 200, 0).grouped

    assert grouped(STAGES) == {1}
    assert grouped(["url_filter", {"extract": {"processes": 1}}, "language"]) == set()  # not streaming
    assert grouped([{"extract": {"processes": 2}}, "gopher_repetition", "language"]) == set()


def test_documents_held_from_a_file_given_up_half_way_do_not_reach_the_next():
    phase = DocumentPhase(parse_config({"stages": STAGES}).stages, 200, -1)
    phase.setup()
    try:
        phase.waiting[1] = [(Document("left-over", "https://example.com/", text="An English text left over here."),
                             document_phase.FileWork(Tally(), Tally()))]
        out = list(phase.run(iter([]), Tally(), Tally()))
    finally:
        phase.teardown()
    assert out == [] and not phase.waiting


def test_a_file_ends_while_its_last_pages_are_extracted_and_each_file_keeps_its_own_accounting(monkeypatch):
    """The next file's pages go to the helpers before the last pages of a file come back: the
    file's end (FILE_DONE) comes later, with every document of it, and each file's counts are
    those of the file run alone."""
    alone, alone_counts, _ = run_phase(True, monkeypatch)
    phase = DocumentPhase(parse_config({"stages": STAGES}).stages, 200, -1)
    phase.setup()
    try:
        works = [document_phase.FileWork(Tally(), Tally()) for _ in range(3)]
        seen: list = []  # (file number, item) in the order the phase gives them
        ended_at = {}
        for n, work in enumerate(works):
            docs = read_warc(lambda: open(SAMPLE, "rb"), SAMPLE, ReadConfig(), work.tally)
            for w, item in phase.feed(docs, work):
                seen.append((works.index(w), item))
            for w, item in phase.end(work):
                seen.append((works.index(w), item))
            ended_at[n] = len(seen)
            assert not work.done  # pages of it still with the helpers, or held for a group
        seen.extend((works.index(w), item) for w, item in phase.drain())
    finally:
        phase.teardown()
    done = [i for i, (_, item) in enumerate(seen) if item is document_phase.FILE_DONE]
    assert [seen[i][0] for i in done] == [0, 1, 2]  # each file ends once, in order
    assert done[0] > ended_at[0] and done[1] > ended_at[1]  # after the next file's pages went out
    for n, work in enumerate(works):
        items = [item for f, item in seen if f == n and item is not document_phase.FILE_DONE]
        assert max(i for i, (f, item) in enumerate(seen) if f == n) == done[n]  # nothing after its end
        kept = sorted((d.id, d.language, d.language_score, d.text) for d in items if isinstance(d, Document))
        rejected = sorted((r.stage, r.reason, r.doc.id) for r in items if isinstance(r, Rejection))
        counts = {k: v for k, v in work.tally.counts.items() if not k.startswith("timing.")}
        assert [kept, rejected] == alone and counts == alone_counts
    assert not phase.inflight and not phase.waiting
