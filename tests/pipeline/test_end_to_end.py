"""The real CLI on the bundled sample WARC and on text datasets, DirectRunner in-process."""
import datetime
import json
import os
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.pipeline.cli import EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, SAMPLE, main
from webrefine.pipeline.stats.build import check_invariant
from tests import warcgen

CONFIG = {"name": "e2e", "stages": ["extract", {"language": {"languages": ["en"]}}],
          "output": {"rejects_per_reason": 5}}


def run(tmp_path, *args, config=CONFIG):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return main(["run", "--config", str(cfg), "--no-progress", *args])


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    out = tmp / "out"
    scratch = tmp / "scratch"
    scratch.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(scratch)  # the run's temporary files go here
    try:
        assert run(tmp, "--output", str(out)) == EXIT_OK
    finally:
        tempfile.tempdir = saved
    return out


def test_a_local_run_leaves_no_temporary_files(sample_run):
    """DirectRunner's first try, Prism, made a /tmp/beam-temp* directory per run (left
    behind) before falling back to the FnApiRunner; webrefine starts the FnApiRunner."""
    assert sorted(os.listdir(sample_run.parent / "scratch")) == []


def test_sample_output_documents(sample_run):
    table = pq.read_table(sample_run / "documents")
    assert {"id", "url", "date", "text", "language", "language_score", "source", "signals"} <= set(table.column_names)
    rows = table.to_pylist()
    assert len(rows) > 10
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["language"] == "en" and r["language_score"] >= 0.65 for r in rows)
    assert all(r["text"].strip() and "\n\n\n" not in r["text"] for r in rows)
    assert all(r["source"].endswith("sample.warc.gz") and r["id"].startswith("<urn:uuid:") for r in rows)
    assert all(r["date"].year >= 2000 and r["date"].utcoffset() == datetime.timedelta(0) for r in rows)
    assert pq.ParquetFile(next((sample_run / "documents").glob("*.parquet"))).metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_run_whose_records_do_not_add_up_fails(sample_run, capsys):
    """A runner that loses bundles must not give exit 0 with incomplete documents."""
    from webrefine.pipeline.cli import EXIT_FAILED, EXIT_OK, exit_status

    stats = json.loads((sample_run / "stats.json").read_text())
    assert exit_status(stats) == EXIT_OK
    stats["output"]["documents"] -= 1  # one kept document lost between the stages and the writer
    assert exit_status(stats) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "60 input records but 59 accounted for" in err and "incomplete" in err


def test_stats_account_for_every_response(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert stats["input"]["files"] == 1 and stats["input"]["responses"] == 60
    assert stats["input"]["records"] > stats["input"]["responses"]
    assert [s["name"] for s in stats["stages"]] == ["read", "extract", "language"]
    units, accounted = check_invariant(stats)
    assert units == accounted == 60
    for a, b in zip(stats["stages"], stats["stages"][1:]):
        assert a["out"] == b["in"]
    for s in stats["stages"]:
        assert s["in"] == s["out"] + sum(s["dropped"].values())
    table = pq.read_table(sample_run / "documents")
    assert stats["output"]["documents"] == table.num_rows == stats["stages"][-1]["out"]
    assert stats["stages"][0]["dropped"]["read.http_status"] >= 2
    assert stats["stages"][0]["dropped"]["read.not_html"] >= 2
    assert "language.unwanted" in stats["stages"][2]["dropped"]
    assert stats["language_model"]["sha256"] and stats["versions"]["trafilatura"]


def test_dropped_characters_are_counted_per_reason(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    assert stats["stages"][0]["name"] == "read" and not stats["stages"][0]["dropped_chars"]  # nothing decoded yet
    for s in stats["stages"][1:]:
        assert s["dropped_chars"].keys() == s["dropped"].keys(), s["name"]
        assert all(chars > 0 for chars in s["dropped_chars"].values()), s["name"]
    language = stats["stages"][2]  # labels, never rewrites: what enters leaves or is dropped
    assert language["chars_in"] == language["chars_out"] + sum(language["dropped_chars"].values())
    chars = language["dropped_chars"]["language.unwanted"]
    assert f'data-reason="language.unwanted" data-count="{language["dropped"]["language.unwanted"]}"' in \
        (sample_run / "report.html").read_text()
    assert f'data-chars="{chars}"' in (sample_run / "report.html").read_text()


def test_rejects_are_bounded_per_reason_and_explain_why(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    rejects = pq.read_table(sample_run / "rejects").to_pylist()
    per_reason = {}
    for r in rejects:
        per_reason[r["reason"]] = per_reason.get(r["reason"], 0) + 1
    dropped = stats["stages"][2]["dropped"]["language.unwanted"]
    assert per_reason["language.unwanted"] == min(5, dropped)
    lang = [r for r in rejects if r["reason"] == "language.unwanted"]
    assert all(r["language"] not in ("", "en") and r["stage"] == "language" for r in lang)
    assert all({s["name"]: s["value"] for s in r["signals"]}["score"] > 0 for r in lang)


def test_resolved_config_is_written(sample_run):
    cfg = yaml.safe_load((sample_run / "config.yaml").read_text())
    assert cfg["stages"][0]["extract"]["timeout_s"] == 2.0  # defaults resolved


def test_rerun_needs_overwrite(sample_run, tmp_path):
    assert run(tmp_path, "--output", str(sample_run)) == EXIT_USAGE
    out = tmp_path / "again"
    assert run(tmp_path, "--output", str(out), "--config", str(tmp_path / "cfg.yaml")) == EXIT_OK
    first = pq.read_table(sample_run / "documents").sort_by("id")
    assert run(tmp_path, "--output", str(out), "--overwrite") == EXIT_OK
    second = pq.read_table(out / "documents").sort_by("id")
    assert first.column("id").to_pylist() == second.column("id").to_pylist()
    assert first.column("text").to_pylist() == second.column("text").to_pylist()
    assert len(list((out / "documents").iterdir())) == 1


def test_bad_input_is_counted_and_sets_the_exit_status(tmp_path):
    good = warcgen.gz(warcgen.page(warcgen.ARTICLE, url="https://a/1"), warcgen.page(warcgen.ARTICLE.replace("walk", "stroll"), url="https://a/2"))
    (tmp_path / "good.warc.gz").write_bytes(good)
    (tmp_path / "cut.warc.gz").write_bytes(good[:-100])
    (tmp_path / "junk.warc.gz").write_bytes(b"not a warc at all\n" * 10)
    out = tmp_path / "out"
    assert run(tmp_path, "--input", str(tmp_path / "*.warc.gz"), "--output", str(out)) == EXIT_INPUT_ERRORS
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input"]["files"] == 3
    assert stats["errors"] == {"read.incomplete_record": 1}
    assert stats["file_errors"] == {"read.not_warc": 1}
    assert stats["output"]["documents"] == 3
    units, accounted = check_invariant(stats)
    assert units == accounted == 4
    samples = stats["error_samples"]["errors.read.incomplete_record"]
    assert samples[0]["file"].endswith("cut.warc.gz")


def test_usage_errors(tmp_path):
    assert run(tmp_path, "--input", str(tmp_path / "none-*.warc.gz"), "--output", str(tmp_path / "o")) == EXIT_USAGE
    (tmp_path / "x.csv").write_text("a,b")
    assert run(tmp_path, "--input", str(tmp_path / "x.csv"), "--output", str(tmp_path / "o")) == EXIT_USAGE
    assert run(tmp_path, "--output", str(tmp_path / "o"), config={"stages": ["nope"]}) == EXIT_USAGE


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_text_dataset_input_skips_extraction_and_keeps_ids(tmp_path, fmt):
    en = "The river rose after three days of rain, and the town council opened the school as a shelter."
    rows = [{"id": "a", "url": "https://x/a", "text": en, "date": "2024-01-01"},
            {"id": "b", "url": "https://x/b", "text": "Der Fluss stieg nach drei Tagen Regen, und der Rat öffnete die Schule."},
            {"id": "c", "url": "https://x/c", "text": None}]
    path = tmp_path / f"docs.{fmt}"
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    out = tmp_path / "out"
    assert run(tmp_path, "--input", str(path), "--output", str(out)) == EXIT_INPUT_ERRORS
    table = pq.read_table(out / "documents").to_pylist()
    assert [(r["id"], r["text"], r["date"]) for r in table] == [
        ("a", en, datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))]
    stats = json.loads((out / "stats.json").read_text())
    assert [s["name"] for s in stats["stages"]] == ["language"]
    assert stats["input"]["rows"] == len(rows) + (1 if fmt == "jsonl" else 0)
    units, accounted = check_invariant(stats)
    assert units == accounted


def test_bundled_sample_ships_with_the_package():
    assert os.path.getsize(SAMPLE) > 100_000


def test_beams_import_warning_without_the_gcp_extra_is_filtered():
    import logging

    from webrefine.pipeline.cli import _BeamImportNoise

    def record(msg):
        return logging.LogRecord("root", logging.WARNING, __file__, 1, msg, None, None)

    noise = record("apitools not found, and bigquery client libraries are not available despite the import "
                   "not raising an ImportError.")
    assert not _BeamImportNoise().filter(noise)
    assert _BeamImportNoise().filter(record("apitools is fine; something else went wrong"))


def test_extract_processes_auto_follows_the_runner(monkeypatch):
    from webrefine.pipeline.cli import AUTO_PROCESSES_MAX, resolve_auto_processes
    from webrefine.pipeline.config import parse_config

    cfg = parse_config({"stages": ["extract", "language"]})
    assert cfg.stages[0].processes == 0  # auto

    def procs(config, *flags):
        return resolve_auto_processes(config, list(flags)).stages[0].processes

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert procs(cfg) == AUTO_PROCESSES_MAX
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert procs(cfg) == 2
    assert procs(cfg, "--direct_running_mode=multi_processing", "--direct_num_workers=2") == 1
    assert procs(cfg, "--runner=DataflowRunner") == 1
    assert procs(parse_config({"stages": [{"extract": {"processes": 3}}]})) == 3


def test_an_in_process_run_over_warc_files_has_its_helpers_extract_them_ahead(tmp_path):
    """prestart_extraction hands the run's WARC files (the patterns expanded) and read settings to
    the prestarted pool of the first extract stage (pool.Prefetch); text input and runs whose
    stages run in other processes get no pool."""
    import dataclasses

    from webrefine.filters.extract import pool
    from webrefine.pipeline.cli import prestart_extraction
    from webrefine.pipeline.config import parse_config

    for name in ("b.warc.gz", "a.warc.gz"):
        (tmp_path / name).write_bytes(b"")
    cfg = parse_config({"stages": [{"extract": {"processes": 2}}, "language"], "read": {"max_payload_bytes": 2048}})
    key = (cfg.stages[0].make_engine(), 2)
    leftover = pool._PRESTARTED.pop(key, None)  # a run refused after its prestart (test_usage_errors)
    if leftover is not None:
        leftover.stop()
    prestart_extraction(cfg, [], ["--direct_running_mode=multi_processing"])
    prestart_extraction(cfg, [str(tmp_path / "x.jsonl")], [])
    assert key not in pool._PRESTARTED
    prestart_extraction(cfg, [str(tmp_path / "*.warc.gz"), str(tmp_path / "a.warc.gz")], [])
    started = pool._PRESTARTED.pop(key)
    try:
        assert started.prefetch.paths == [str(tmp_path / "a.warc.gz"), str(tmp_path / "b.warc.gz")]
        assert started.prefetch.read == dataclasses.asdict(cfg.read) and started.prefetch.read["max_payload_bytes"] == 2048
        assert [h.prefetches for h in started.helpers] == [True, False]  # the first helper only
    finally:
        started.stop()


def test_config_yaml_keeps_auto_processes(sample_run):
    written = yaml.safe_load((sample_run / "config.yaml").read_text())
    assert written["stages"][0]["extract"]["processes"] == 0  # auto, as asked: the same hash on any machine


def test_stats_hold_each_per_document_stage_time(sample_run):
    stats = json.loads((sample_run / "stats.json").read_text())
    timings = stats["timings"]
    assert list(timings) == ["read", "extract", "language"]
    assert all(t["wall_s"] >= 0 and t["cpu_s"] >= 0 for t in timings.values())
    # each stage's time is measured (extraction's is not compared with language's: on a local run
    # over WARC files its helpers may have extracted the pages before they came, pool.Prefetch)
    assert timings["extract"]["wall_s"] > 0 and timings["language"]["cpu_s"] > 0
    # Times are not counts: they stay out of "counters", which runs of one job share.
    assert not any(k.startswith("timing.") for k in stats["counters"])
