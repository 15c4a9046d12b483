"""What a new user hits first: mistyped flags, dry runs, and text inputs in the shapes users
have them (.jsonl.gz, a folder, other column names, this pipeline's own output)."""
import gzip
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.pipeline.cli import EXIT_OK, EXIT_USAGE, SAMPLE, main
from webrefine.pipeline.io.text_datasets import jsonl_rows

TEXTS = [" ".join(f"word{i}_{j}" for j in range(60)) + " the end." for i in range(6)]


@pytest.mark.parametrize("flag, hint", [
    (["--inputs", "x/*.warc.gz"], "did you mean --input?"),
    (["--confg", "fineweb"], "did you mean --config?"),
    (["--overwrit"], "did you mean --overwrite?"),  # no argparse abbreviations
    (["--runer", "DirectRunner"], "did you mean --runner?"),
])
def test_a_mistyped_flag_is_a_usage_error_naming_it(tmp_path, capsys, flag, hint):
    assert main(["run", "--output", str(tmp_path / "out"), "--no-progress", *flag]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"unknown flag {flag[0]}" in err and hint in err
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


def test_beams_timed_flush_experiment_is_refused(tmp_path, capsys):
    args = ["run", "--output", str(tmp_path / "out"), "--no-progress"]
    assert main([*args, "--experiments=data_buffer_time_limit_ms=1000"]) == EXIT_USAGE
    assert "timed flushing of data streams loses data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main([*args, "--experiments=data_buffer_time_limit_ms=0", "--dry_run=True"]) == EXIT_OK


def test_without_input_the_bundled_sample_is_announced(tmp_path, capsys):
    assert main(["run", "--output", str(tmp_path / "out"), "--no-progress", "--dry_run=True"]) == EXIT_OK
    assert f"no --input given: curating the bundled sample ({SAMPLE})" in capsys.readouterr().err


def test_a_local_dry_run_writes_nothing_and_keeps_an_earlier_run(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stats.json").write_text("earlier run")
    assert main(["run", "--output", str(out), "--no-progress", "--dry_run=True"]) == EXIT_OK
    assert "nothing ran, nothing was written" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["stats.json"] and (out / "stats.json").read_text() == "earlier run"


def dedup_config(tmp_path, read=None):
    cfg = {"name": "t", "stages": ["exact_dedup"], **({"read": read} if read else {})}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def kept(out):
    return pq.read_table(out / "documents").sort_by("id")


def test_jsonl_gz_rows_are_read(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for i, text in enumerate(TEXTS + TEXTS[:2]):  # two exact copies
            fh.write(json.dumps({"id": f"d{i}", "url": f"https://e.com/{i}", "text": text}) + "\n")
    from apache_beam.io.filesystems import FileSystems

    # Beam's FileSystems.open decompresses .gz into an object that is not iterable.
    assert len(list(jsonl_rows(lambda: FileSystems.open(str(path))))) == 8
    assert main(["run", "--input", str(path), "--output", str(tmp_path / "out"), "--no-progress",
                 "--config", dedup_config(tmp_path)]) == EXIT_OK
    assert kept(tmp_path / "out").num_rows == 6


def test_a_folder_as_input_and_other_column_names(tmp_path):
    folder = tmp_path / "dataset"
    (folder / "sub").mkdir(parents=True)
    table = pa.table({"doc_id": [f"d{i}" for i in range(6)], "link": [f"https://e.com/{i}" for i in range(6)],
                      "content": TEXTS})
    pq.write_table(table.slice(0, 3), folder / "a.parquet")
    pq.write_table(table.slice(3), folder / "sub" / "b.parquet")
    (folder / "README.txt").write_text("not an input")
    cfg = dedup_config(tmp_path, {"text_column": "content", "id_column": "doc_id", "url_column": "link"})
    assert main(["run", "--input", str(folder), "--output", str(tmp_path / "out"), "--no-progress",
                 "--config", cfg]) == EXIT_OK
    docs = kept(tmp_path / "out")
    assert docs.column("id").to_pylist() == [f"d{i}" for i in range(6)]
    assert docs.column("text").to_pylist() == TEXTS
    assert docs.column("url").to_pylist() == [f"https://e.com/{i}" for i in range(6)]


def test_a_folder_without_input_files_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["run", "--input", str(tmp_path / "empty"), "--output", str(tmp_path / "out")]) == EXIT_USAGE
    assert "no .warc[.gz], .parquet or .jsonl[.gz] file" in capsys.readouterr().err


def test_a_rerun_on_its_own_output_keeps_language_signals_and_source(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", "--output", str(first), "--no-progress"]) == EXIT_OK
    assert main(["run", "--input", str(first / "documents"), "--output", str(second), "--no-progress",
                 "--config", dedup_config(tmp_path)]) == EXIT_OK
    before, after = kept(first), kept(second)
    assert after.num_rows == before.num_rows > 10
    for column in ("id", "date", "text", "language", "language_score", "signals", "source"):
        assert after.column(column).to_pylist() == before.column(column).to_pylist(), column
    assert set(after.column("source").to_pylist()) == {SAMPLE}


def config_file(tmp_path, stages):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "stages": stages}))
    return str(path)


@pytest.mark.parametrize("stages, message", [
    (["exact_dedup"], "stage exact_dedup reads text, but WARC input has none before `extract`"),
    (["url_filter", "language", "extract"], "['language'] need extracted text"),
    (["extract", {"language": {"languages": ["english"]}}], "'english': not a language code of lid.176"),
    (["extract", {"language": {"model": "/nonexistent/lid.176.bin"}}], "language.model: cannot open '/nonexistent"),
    ([{"url_filter": {"domain_lists": ["nosuchscheme://bucket/domains"]}}, "extract"],
     "url_filter.domain_lists: cannot open 'nosuchscheme://bucket/domains'"),
])
def test_a_config_that_cannot_fit_the_input_is_refused_before_anything_is_written(tmp_path, capsys, stages,
                                                                                   message):
    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--no-progress", "--config", config_file(tmp_path, stages)]) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def sample_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    assert main(["run", "--output", str(out), "--no-progress", "--config", "refinedweb"]) == EXIT_OK
    return out


@pytest.mark.parametrize("part", ["documents", "rejects"])
def test_outputs_load_in_datasets_duckdb_polars_and_pandas(sample_output, part, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # local files only: never ask the Hub
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    files = sorted(str(p) for p in (sample_output / part).glob("*.parquet"))
    want = pq.read_table(files).num_rows
    assert want > 0

    import datasets
    import duckdb
    import pandas as pd
    import polars as pl

    ds = datasets.load_dataset("parquet", data_files=files, split="train",
                               cache_dir=str(sample_output.parent / "hf-cache"))
    assert ds.num_rows == want
    first = ds[0]
    assert first["date"].year >= 2000 and isinstance(first["signals"], list)
    assert {"name", "value"} <= set(first["signals"][0]) if first["signals"] else True
    pattern = str(sample_output / part / "*.parquet")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0] == want
    duck_types = {row[0]: row[1] for row in
                  duckdb.sql(f"DESCRIBE SELECT date, signals FROM read_parquet('{pattern}')").fetchall()}
    assert duck_types["date"].startswith("TIMESTAMP") and duck_types["signals"].startswith("STRUCT")
    assert pl.read_parquet(pattern).height == want
    assert len(pd.concat(pd.read_parquet(f) for f in files)) == want


def test_documents_signals_are_named_values(sample_output):
    docs = pq.read_table(sample_output / "documents")
    signals = docs.column("signals").to_pylist()[0]
    names = {s["name"] for s in signals}
    assert "gopher_quality.word_count" in names or any(n.startswith("gopher_quality.") for n in names)
    assert all(isinstance(s["value"], float) for s in signals)


@pytest.mark.parametrize("text, message", [
    ("stages: [gopher_qualty]", "unknown stage 'gopher_qualty' (did you mean 'gopher_quality'?)"),
    ("stages:\n  - language: {min_scor: 0.5}", "unknown parameter(s) ['min_scor'] (did you mean 'min_score'?)"),
    ("stage: [extract]", "unknown top-level key(s) ['stage'] (did you mean 'stages'?)"),
    ("stages:\n  - extract\n  - language:\n    languages: [en]\n",
     "to give language parameters, indent them under it"),
])
def test_config_mistakes_get_a_hint(tmp_path, capsys, text, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    assert main(["run", "--output", str(tmp_path / "out"), "--config", str(path)]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_the_report_does_not_call_shown_dedup_samples_missing(sample_output):
    html = (sample_output / "report.html").read_text()
    assert 'data-sample="dropped.exact_dedup.duplicate"' in html
    assert "No samples recorded for" not in html


def test_summary_columns_line_up_for_long_stage_names(capsys):
    from webrefine.pipeline.cli import print_summary

    stages = [{"name": n, "in": 10, "out": 9, "dropped": {f"{n}.x": 1}} for n in ("read", "exact_substring_dedup")]
    print_summary({"input": {"files": 1, "responses": 10}, "stages": stages, "output": {"documents": 9},
                   "errors": {}, "file_errors": {}})
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("stage ", "read ", "exact_"))]
    assert len(rows) == 3
    # the right edge of the "in" column: the header's "in" and each row's 10
    edges = {line.index(" in ") + 3 if line.startswith("stage") else line.index(" 10 ") + 3 for line in rows}
    assert len(edges) == 1, rows
