"""Beam wiring of the dedup stages: exact expected sets on the DirectRunner."""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline  # the module: a TestPipeline name here is a class pytest tries to collect
from apache_beam.testing.util import assert_that, equal_to

from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.urls import UrlDedup
from webrefine.filters.document import Document
from webrefine.pipeline.config import load_config
from webrefine.dedup.refs import ref_of
from webrefine.pipeline.beam.dedup_transforms import dedup_transform
from webrefine.pipeline.beam.per_file import ResultsWriter, results_path
from webrefine.pipeline.beam.resolve import Resolve
from webrefine.pipeline.workarea import document_json
from webrefine.pipeline.stats.tally import Tally

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
MULTI = ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]


def D(i, text, date="", url=""):
    return Document(id=i, url=url or f"https://example.com/{i}", text=text, date=date)


def words(prefix, n, start=0):
    return " ".join(f"{prefix}{i}" for i in range(start, start + n))


def tally_matcher(name, expected):
    """Checks ``expected`` counts (missing key = 0) and in = out + dropped."""
    def check(tallies):
        t = Tally.merged(tallies)
        got = {k: t.counts.get(k, 0) for k in expected}
        assert got == expected, got
        dropped = sum(n for k, n in t.counts.items() if k.startswith(f"stage.{name}.dropped."))
        assert t.counts[f"stage.{name}.in"] == t.counts[f"stage.{name}.out"] + dropped
    return check


def in_work_area(docs, exact=ExactDedup(), files=2, work=None):
    """Writes ``docs`` into a new work area as ``files`` input files' results (the real writer,
    pipeline/beam/per_file.py) and returns (work area, their DocRefs): the dedup stages read
    texts from there."""
    import json

    work = work or tempfile.mkdtemp(prefix="webrefine-work-")
    refs = []
    for f in range(files):
        key = f"{f:04d}-input"
        with open(results_path(work, key), "wb") as raw:
            out = ResultsWriter(raw)
            for row, doc in enumerate(docs[f::files]):
                offset = out.doc(json.dumps({"doc": document_json(doc)}).encode() + b"\n")
                refs.append(ref_of(doc, key, row, offset, exact.key))
            out.close()
    return work, refs


def check_dedup(stage, docs, kept, rejected, counts=None, options=(), extra=None):
    work, refs = in_work_area(docs)
    with test_pipeline.TestPipeline(options=PipelineOptions(list(options))) as p:
        out = p | beam.Create(refs) | dedup_transform(stage, work)
        assert_that(out["kept"] | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(sorted(kept)), label="Kept")
        assert_that(out["rejected"] | "RejIds" >> beam.Map(lambda r: (r.doc.id, r.stage, r.reason)),
                    equal_to([(i, stage.name, stage.reasons[0]) for i in rejected]), label="Rejected")
        assert_that(out["tallies"], tally_matcher(stage.name, counts or {}), label="Tallies")
        if extra:
            extra(out)


# --- exact_dedup ------------------------------------------------------------------------

def test_exact_keeps_the_earliest_copy_of_each_normalised_text():
    docs = [D("a", "Hello  world", "2024-05-02T00:00:00Z"), D("b", "Hello world", "2024-05-01T00:00:00Z"),
            D("c", " Hello world\n"), D("d", "hello world", "2024-05-01T00:00:00Z"), D("e", "Hello world", "2024-05-01T00:00:00Z")]
    check_dedup(ExactDedup(), docs, kept=["b", "d"], rejected=["a", "c", "e"], counts={
        "stage.exact_dedup.in": 5, "stage.exact_dedup.out": 2, "stage.exact_dedup.dropped.exact_dedup.duplicate": 3,
        "exact_dedup.unique_keys": 2, "exact_dedup.duplicate_groups": 1})


def test_exact_keeps_one_of_identical_records_of_the_survivor():
    # the same record three times (same id, date, url, text: its identity is shared) and a later copy
    twin = D("t", "Same text here", "2024-05-01T00:00:00Z")
    docs = [twin, twin, D("u", "Same text here", "2024-06-01T00:00:00Z"), twin, D("v", "other")]
    check_dedup(ExactDedup(), docs, kept=["t", "v"], rejected=["t", "t", "u"], counts={
        "stage.exact_dedup.in": 5, "stage.exact_dedup.out": 2, "stage.exact_dedup.dropped.exact_dedup.duplicate": 3,
        "exact_dedup.duplicate_groups": 1}, options=MULTI)


def test_exact_hot_key_keeps_one_and_counts_exactly():
    docs = [D(f"x{i:04d}", "the same licence text", f"2024-01-{1 + i % 28:02d}") for i in range(1500)]
    check_dedup(ExactDedup(survivor="latest"), docs, kept=["x0027"], rejected=[d.id for d in docs if d.id != "x0027"],
        counts={"stage.exact_dedup.in": 1500, "stage.exact_dedup.out": 1}, options=MULTI)


def test_exact_publishes_beam_metrics():
    p = test_pipeline.TestPipeline(options=PipelineOptions([]))
    work, refs = in_work_area([D("a", "x"), D("b", "x"), D("c", "y")])
    _ = p | beam.Create(refs) | dedup_transform(ExactDedup(), work)
    result = p.run()
    result.wait_until_finish()
    got = {m.key.metric.name: m.committed for m in result.metrics().query(
        MetricsFilter().with_namespace("exact_dedup"))["counters"]}
    assert got == {"in": 3, "out": 2, "dropped.exact_dedup.duplicate": 1}


# --- url_dedup --------------------------------------------------------------------------

URL_DOCS = [D("old", "t1", "2024-01-01T00:00:00Z", "http://Example.com/Page#top"),
            D("new", "t2", "2024-03-01T00:00:00Z", "HTTP://example.COM/Page"),
            D("mid", "t3", "2024-02-01T00:00:00Z", "http://example.com/Page#x"),
            D("case", "t4", "2024-01-01T00:00:00Z", "http://example.com/page"),
            D("tie2", "t5", "2024-01-01T00:00:00Z", "https://a.org/"), D("tie1", "t6", "2024-01-01T00:00:00Z", "https://A.org"),
            Document(id="nourl", url="", text="t7")]


def test_url_latest_wins_by_default_and_keyless_pass_through():
    check_dedup(UrlDedup(), URL_DOCS, kept=["new", "case", "tie1", "nourl"], rejected=["old", "mid", "tie2"], counts={
        "stage.url_dedup.in": 7, "stage.url_dedup.out": 4, "stage.url_dedup.dropped.url_dedup.duplicate": 3,
        "url_dedup.no_url": 1, "url_dedup.duplicate_groups": 2})


def test_url_earliest_rule():
    check_dedup(UrlDedup(survivor="earliest"), URL_DOCS, kept=["old", "case", "tie1", "nourl"], rejected=["new", "mid", "tie2"])


# --- minhash_dedup ----------------------------------------------------------------------

BASE = words("w", 300)
CLUSTER = [D("c-late", BASE.replace("w150 ", "edit "), "2024-05-03T00:00:00Z"),
           D("c-first", BASE.replace("w10 ", "edit "), "2024-05-01T00:00:00Z"),
           D("c-undated", BASE.replace("w250 ", "edit ")),
           D("c-same-day", BASE.replace("w290 ", "edit "), "2024-05-01T00:00:00Z"),
           D("unrelated", words("u", 300), "2023-01-01T00:00:00Z"),
           D("short", "too short to sign", "2020-01-01T00:00:00Z")]


def check_survivor_signals(out):
    assert_that(out["kept"] | "Sizes" >> beam.Map(lambda d: (d.id, dict(d.signals).get("minhash_dedup.cluster_size"))),
                equal_to([("c-first", 4.0), ("unrelated", 1.0), ("short", None)]), label="Signals")


@pytest.mark.parametrize("preset", ["refinedweb", "fineweb"])
def test_minhash_keeps_the_earliest_of_a_cluster(preset):
    check_dedup(MinhashDedup(preset=preset), CLUSTER, kept=["c-first", "unrelated", "short"],
        rejected=["c-late", "c-undated", "c-same-day"], extra=check_survivor_signals, counts={
            "stage.minhash_dedup.in": 6, "stage.minhash_dedup.out": 3,
            "stage.minhash_dedup.dropped.minhash_dedup.duplicate": 3, "minhash_dedup.signed": 5,
            "minhash_dedup.too_short": 1, "minhash_dedup.clusters": 1, "minhash_dedup.graph_nodes": 4,
            "minhash_dedup.cc_unconverged": 0, "minhash_dedup.pairs_rejected": 0})


def test_minhash_scope_parts_compares_documents_only_within_their_part():
    stage = MinhashDedup(preset="fineweb", scope="parts", parts=2)
    # in_work_area puts CLUSTER[0::2] in file 0000-input and CLUSTER[1::2] in 0001-input
    assert stage.part("0000-input") != stage.part("0001-input")
    # file 0: c-late and c-undated (c-late is dated: it survives); file 1: c-first and c-same-day
    check_dedup(stage, CLUSTER, kept=["c-late", "unrelated", "c-first", "short"],
                rejected=["c-undated", "c-same-day"])
    one_part = MinhashDedup(preset="fineweb", scope="parts", parts=1)  # every file in part 0: as one run
    check_dedup(one_part, CLUSTER, kept=["c-first", "unrelated", "short"],
                rejected=["c-late", "c-undated", "c-same-day"])


@pytest.mark.parametrize("seed, options", [(1, ()), (2, MULTI), (3, MULTI)])
def test_minhash_survivors_do_not_depend_on_order_or_bundles(seed, options):
    docs = CLUSTER * 1
    random.Random(seed).shuffle(docs)
    check_dedup(MinhashDedup(preset="fineweb", max_rounds=4), docs, kept=["c-first", "unrelated", "short"],
        rejected=["c-late", "c-undated", "c-same-day"], options=options)


def test_minhash_verification_rejects_low_jaccard_candidates():
    # Jaccard 96/296 = 0.32, but with 20 one-row bands they collide (P = 1 - 0.68^20)
    a, b = D("a", words("w", 200), "2024-01-01"), D("b", words("w", 100) + " " + words("v", 100, 100), "2024-01-02")
    check_dedup(MinhashDedup(bands=20, rows=1, verify=False), [a, b], kept=["a"], rejected=["b"],
        counts={"minhash_dedup.unique_pairs": 1, "minhash_dedup.pairs_verified": 0})
    check_dedup(MinhashDedup(bands=20, rows=1, verify=True), [a, b], kept=["a", "b"], rejected=[],
        counts={"minhash_dedup.unique_pairs": 1, "minhash_dedup.pairs_verified": 1,
                "minhash_dedup.pairs_rejected": 1, "minhash_dedup.clusters": 0})


def test_minhash_hot_bucket_collapses_to_one_survivor():
    docs = [D(f"h{i:03d}", BASE.replace(f"w{i} ", f"edit{i} "), f"2024-02-{1 + i % 28:02d}") for i in range(300)]

    def top(out):
        def check(tallies):
            t = Tally.merged(tallies)
            assert t.top_items("minhash_dedup.largest_clusters") == [
                {"size": 300, "url": "https://example.com/h000", "id": "h000"}]
            assert t.hists["minhash_dedup.cluster_size"] == {300.0: 1}
            assert t.counts["minhash_dedup.candidate_pairs"] >= 299
        assert_that(out["tallies"], check, label="Top")
    check_dedup(MinhashDedup(preset="fineweb"), docs, kept=["h000"], rejected=[d.id for d in docs[1:]],
        counts={"minhash_dedup.clusters": 1, "minhash_dedup.cc_unconverged": 0}, extra=top, options=MULTI)


def test_dedup_transform_rejects_other_stages():
    with pytest.raises(TypeError):
        dedup_transform(object())


# --- the dedup preset on dedup-eval -----------------------------------------------------

def quality(pairs):
    """Missed = pairs at Jaccard ≥ 0.85 where both survive; false = removed docs with no
    partner at ≥ 0.7 (data/dedup-eval/README.md)."""
    def check(outcomes):
        kept = {i for i, k in outcomes if k}
        removed = {i for i, k in outcomes if not k}
        high = [(a, b) for a, b, j in pairs if j >= 0.85]
        partners = {x for a, b, j in pairs if j >= 0.7 for x in (a, b)}
        missed = sum(a in kept and b in kept for a, b in high)
        false = len(removed - partners)
        assert missed <= 0.02 * len(high), (missed, len(high))
        assert false <= 0.01 * len(removed), (false, len(removed))
        assert len(removed) > 200  # the set has ~250 duplicates to find
    return check


def test_dedup_preset_quality_on_dedup_eval():
    table = pq.read_table(FIXTURES / "dedup_eval_docs.parquet").to_pylist()
    pairs = [(r["a"], r["b"], r["jaccard"]) for r in pq.read_table(FIXTURES / "dedup_eval_pairs.parquet").to_pylist()]
    stages = load_config(str(ROOT / "configs" / "dedup.yaml")).stages  # the real loader
    assert [s.name for s in stages] == ["exact_dedup", "minhash_dedup"]
    assert stages[1] == MinhashDedup(preset="refinedweb", verify=True, threshold=0.8)
    work, refs = in_work_area([Document(id=r["id"], url=r["url"], text=r["text"]) for r in table], files=3)
    with test_pipeline.TestPipeline(options=PipelineOptions([])) as p:
        pcoll = p | beam.Create(refs)
        rejected = []
        for stage in stages:
            out = pcoll | f"Dedup[{stage.name}]" >> dedup_transform(stage, work)
            pcoll = out["kept"]
            rejected.append(out["rejected"])
        # the fates back to documents, read from the work area (resolve.py): each text whole
        resolved = (pcoll, rejected | "R" >> beam.Flatten()) | Resolve(work)
        outcomes = ((resolved["kept"] | "K" >> beam.Map(lambda d: (d.id, True)),
                     resolved["rejected"] | "RIds" >> beam.Map(lambda r: (r.doc.id, False)))
                    | "Outcomes" >> beam.Flatten())
        assert_that(outcomes, quality(pairs))
        texts = {r["id"]: r["text"] for r in table}
        assert_that(resolved["kept"] | "Texts" >> beam.Map(lambda d: d.text == texts[d.id]),
                    lambda same: None if all(same) and same else pytest.fail("texts differ"), label="Texts")


# --- earlier runs' entries (--dedup-against; dedup/earlier.py) ----------------------------------

EARLIER_RUNS = ("gs://b/run0", "r0"), ("gs://b/run1", "r1")


@pytest.mark.parametrize("stage,field", [(ExactDedup(), "text"), (UrlDedup(), "url")])
def test_groups_holding_an_earlier_entry_keep_no_new_document(stage, field):
    from webrefine.dedup.earlier import EarlierDoc
    from webrefine.pipeline.beam.dedup_index import EarlierRun

    runs = tuple(EarlierRun(path, run_id, 1, (), ()) for path, run_id in EARLIER_RUNS)
    seen, new = ("seen before", "https://e.com/seen") if field == "text" else ("https://e.com/seen",) * 2
    other = "new text" if field == "text" else "https://e.com/new"

    def doc(i, value, date=""):
        return D(i, value, date) if field == "text" else D(i, f"text {i}", date, url=value)

    docs = [doc("n1", seen), doc("n2", seen, "2020-01-01"), doc("n3", other), doc("n4", other, "2019")]
    earlier = [(seen, 1, "e1"), (seen, 0, "e9"), ("never seen", 0, "e2")]  # run 0 wins over run 1
    key = stage.key
    work, refs = in_work_area(docs)
    with test_pipeline.TestPipeline(options=PipelineOptions(MULTI)) as p:
        entries = p | "Earlier" >> beam.Create([(key(v), EarlierDoc(r, i)) for v, r, i in earlier])
        out = p | beam.Create(refs) | dedup_transform(stage, work, entries, runs)
        assert_that(out["kept"] | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(["n4"]), label="Kept")
        assert_that(out["rejected"] | "Rej" >> beam.Map(lambda r: (r.doc.id, r.matched)),
                    equal_to([("n1", ("gs://b/run0", "e9")), ("n2", ("gs://b/run0", "e9")), ("n3", None)]),
                    label="Rejected")
        name = stage.name
        assert_that(out["tallies"], tally_matcher(name, {  # earlier entries are never counted in or out
            f"stage.{name}.in": 4, f"stage.{name}.out": 1, f"{name}.matched_earlier.r0": 2,
            f"{name}.matched_earlier.r1": 0, f"{name}.unique_keys": 1}), label="Tallies")
