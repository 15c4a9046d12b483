"""The work area's saved forms read back exactly, and the checks that a resume continues the
same run (pipeline/workarea.py)."""
import dataclasses
import json
import math

from webrefine.filters.document import Document, Rejection
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.workarea import (
    config_mismatch, document_from_json, document_json, file_key, manifest, manifest_mismatch, rejection_from_json,
    rejection_json, tally_from_json, tally_json,
)


def roundtrip(value):
    return json.loads(json.dumps(value, allow_nan=True))


def test_a_tally_reads_back_exactly_and_every_field_is_saved():
    tally = Tally()
    tally.count("input.responses", 3)
    tally.counts["timing.extract.wall_s"] += 0.1 + 0.2  # a float that is not a short decimal
    tally.observe("gopher_quality.word_count", 212.0)
    tally.observe("language.score#chars", 0.123456789, 5000)
    tally.sample("dropped.language.unwanted", "<urn:uuid:1>", {"id": "<urn:uuid:1>", "signals": {"score": 0.5}})
    tally.sample("errors.read.bad_http", "f@3", {"file": "f", "offset": 3}, k=5)
    tally.top("minhash_dedup.clusters", "a", 7.0, {"size": 7})
    back = tally_from_json(roundtrip(tally_json(tally)))
    assert back == tally
    assert back.counts["timing.extract.wall_s"] == 0.1 + 0.2
    # A field added to Tally must be saved too, or a resumed run's stats would lose it.
    assert set(tally_json(Tally())) == {f.name for f in dataclasses.fields(Tally)}


def test_documents_and_rejections_read_back_exactly():
    doc = Document(id="<urn:uuid:2>", url="https://a/é", text="t\x00ext", date="2024-05-18T01:00:00Z", source="s.warc",
                   html=None, language="en", language_score=0.8765432101234567, truncated=True,
                   signals={"extract.text_chars": 4.0, "language.score": 1 / 3, "c4.x": math.inf})
    assert document_from_json(roundtrip(document_json(doc))) == doc
    rej = Rejection("gopher_quality", "gopher_quality.word_count_low", doc, {"word_count": 12.0})
    assert rejection_from_json(roundtrip(rejection_json(rej))) == rej


def test_file_keys_are_unique_per_path_and_name_the_file():
    a, b = file_key("gs://b/x/seg1/warc/f.warc.gz"), file_key("gs://b/x/seg2/warc/f.warc.gz")
    assert a != b and a.endswith("-f.warc.gz") and b.endswith("-f.warc.gz")
    assert "/" not in file_key("dir with space/ü.warc.gz")


def test_a_resume_must_have_the_same_inputs_and_version():
    saved = manifest(("a.warc.gz", "b.warc.gz"), {"a.warc.gz": 10, "b.warc.gz": 20}, "warc", "h", "1.0")
    assert manifest_mismatch(saved, saved) is None
    assert "input list differs: 1 input file(s) not in it (first: c.warc.gz)" in manifest_mismatch(
        saved, manifest(("a.warc.gz", "b.warc.gz", "c.warc.gz"), {}, "warc", "h", "1.0"))
    assert "1 of its input file(s) missing (first: b.warc.gz)" in manifest_mismatch(
        saved, manifest(("a.warc.gz",), {"a.warc.gz": 10}, "warc", "h", "1.0"))
    assert "b.warc.gz changed size (20 → 21 bytes)" in manifest_mismatch(
        saved, manifest(("a.warc.gz", "b.warc.gz"), {"a.warc.gz": 10, "b.warc.gz": 21}, "warc", "h", "1.0"))
    assert "written by webrefine 1.0, this is 1.1" in manifest_mismatch(
        saved, manifest(("a.warc.gz", "b.warc.gz"), {"a.warc.gz": 10, "b.warc.gz": 20}, "warc", "h", "1.1"))


def test_config_differences_are_named_except_name_and_description():
    before = {"name": "a", "description": "x", "stages": [{"extract": {"timeout_s": 2.0}}, {"language": {}}],
              "output": {"shard_mb": 256}}
    assert config_mismatch(before, {**before, "name": "b", "description": "y"}) is None
    assert config_mismatch(before, {**before, "stages": [{"extract": {"timeout_s": 3.0}}, {"language": {}}]}) \
        == "stages.0.extract.timeout_s: 2.0 before, 3.0 now"
    assert config_mismatch(before, {**before, "stages": [{"extract": {"timeout_s": 2.0}}]}) \
        == "stages: 2 entries before, 1 now"
    assert config_mismatch(before, {**before, "output": {}}) == "output.shard_mb: not in this config"
