"""--resume: a run interrupted by Ctrl-C continues from the input files it finished, and ends
with exactly a clean run's documents, rejects and stats.json; the guard rails around it."""
import json
import os
import signal
import subprocess
import sys
import time
import zlib

import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.pipeline.cli import EXIT_OK, EXIT_USAGE, SAMPLE, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
FILES = 8
# What differs between two runs of the same job: clocks and how the run went.
VOLATILE = ("started", "finished", "timings", "resume")


def split_sample(folder, n=FILES):
    """The bundled sample's records (one gzip member each) in ``n`` WARC files: distinct pages."""
    data = open(SAMPLE, "rb").read()
    members = []
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        members.append(data[: len(data) - len(d.unused_data)])
        data = d.unused_data
    folder.mkdir()
    per = -(-len(members) // n)
    for i in range(n):
        (folder / f"part{i}.warc.gz").write_bytes(b"".join(members[i * per:(i + 1) * per]))
    return sorted(str(p) for p in folder.iterdir())


def cli(*args, **popen):
    return subprocess.Popen([sys.executable, "-m", "webrefine", *args], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def markers(out):
    work = out / "_work"
    return sorted(work.glob("*.done")) if work.exists() else []


def result(out):
    docs = pq.read_table(out / "documents").sort_by("id").to_pylist()
    rejects = sorted(pq.read_table(out / "rejects").to_pylist(), key=lambda r: (r["stage"], r["reason"], r["id"]))
    stats = json.loads((out / "stats.json").read_text())
    return docs, rejects, stats


def same_job(stats):
    return {k: v for k, v in stats.items() if k not in VOLATILE}


def test_ctrl_c_then_resume_gives_a_clean_runs_output_without_reading_finished_files(tmp_path):
    inputs = split_sample(tmp_path / "in")
    args = ["run", "--input", str(tmp_path / "in"), "--config", "refinedweb"]
    clean = tmp_path / "clean"  # the reference: same inputs, same paths, one uninterrupted run
    assert main([*args, "--output", str(clean), "--no-progress"]) == EXIT_OK
    out = tmp_path / "out"

    proc = cli(*args, "--output", str(out), "--no-progress", start_new_session=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and not markers(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before a file was committed: " + proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    done = [json.loads(m.read_text())["input"] for m in markers(out)]
    assert 1 <= len(done) < FILES, done  # interrupted mid-run, with finished files
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("webrefine: 8 warc")]
    assert len(lines) == 1, stderr[-2000:]
    assert lines[0].startswith(f"webrefine: interrupted; {len(done)} of {FILES} input file(s) are done") \
        and "--resume" in lines[0], lines[0]
    # Kept: the work area and config.yaml; the attempt's other outputs are gone.
    assert sorted(os.listdir(out)) == ["_work", "config.yaml"], os.listdir(out)

    # The same command without --resume says how to continue, and changes nothing.
    refused = cli(*args, "--output", str(out), "--no-progress")
    _, err = refused.communicate(timeout=300)
    assert refused.returncode == EXIT_USAGE and "--resume" in err, err[-2000:]
    assert len(markers(out)) == len(done)

    # Proof that finished files are not read again: their bytes become garbage of the same
    # size. Read again, they would be counted as file errors and lose their documents.
    for path in done:
        size = os.path.getsize(path)
        with open(path, "wb") as fh:
            fh.write(b"\0" * size)

    resumed = cli(*args, "--output", str(out), "--resume")  # with the progress line
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == EXIT_OK, stderr[-3000:]
    assert f"resuming: {len(done)} of {FILES} input file(s) are done" in stderr, stderr[-2000:]
    assert f"{FILES}/{FILES} files ({len(done)} resumed)" in stderr.splitlines()[-1], stderr[-1000:]
    assert f"resumed: {len(done)} file(s)" in stdout, stdout

    got, want = result(out), result(clean)
    assert got[0] == want[0] and len(got[0]) > 10  # documents: every column of every row
    assert got[1] == want[1] and got[1]  # rejects
    assert same_job(got[2]) == same_job(want[2])
    assert got[2]["resume"] == {"files_processed": FILES - len(done), "files_resumed": len(done)}
    assert want[2]["resume"] == {"files_processed": FILES, "files_resumed": 0}
    assert not (out / "_work").exists()  # a finished run removes its work area


@pytest.fixture()
def unfinished(tmp_path):
    """An output whose per-file phase finished and whose end did not (killed while writing):
    a finished run with --keep-work, its outputs but config.yaml then removed."""
    split_sample(tmp_path / "in", n=3)
    out = tmp_path / "out"
    args = ["run", "--input", str(tmp_path / "in"), "--config", "extract", "--output", str(out), "--no-progress"]
    assert main([*args, "--keep-work"]) == EXIT_OK
    docs = pq.read_table(out / "documents").sort_by("id").to_pylist()
    assert len(list((out / "_work").glob("*.done"))) == 3
    for name in ("stats.json", "report.html"):
        (out / name).unlink()
    for part in (out / "documents").iterdir():
        part.unlink()
    return out, args, docs


def test_resume_after_the_per_file_phase_reads_no_input(unfinished, tmp_path):
    out, args, docs = unfinished
    for warc in (tmp_path / "in").iterdir():
        warc.write_bytes(b"\0" * warc.stat().st_size)  # read again, they would give nothing
    assert main([*args, "--resume"]) == EXIT_OK
    assert pq.read_table(out / "documents").sort_by("id").to_pylist() == docs
    stats = json.loads((out / "stats.json").read_text())
    assert stats["resume"] == {"files_processed": 0, "files_resumed": 3} and not stats["file_errors"]


def test_resume_with_another_config_is_refused_before_anything_changes(unfinished, tmp_path, capsys):
    out, args, _ = unfinished
    cfg = tmp_path / "other.yaml"
    cfg.write_text(yaml.safe_dump({"name": "extract", "stages": [{"extract": {"timeout_s": 3.0}}]}))
    before = sorted(os.listdir(out / "_work"))
    other = [a if a != "extract" else str(cfg) for a in args]
    assert main([*other, "--resume"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "config differs" in err and "timeout_s: 2.0 before, 3.0 now" in err, err
    assert sorted(os.listdir(out / "_work")) == before and (out / "config.yaml").exists()


def test_resume_with_other_inputs_is_refused(unfinished, tmp_path, capsys):
    out, args, _ = unfinished
    fewer = [a if a != str(tmp_path / "in") else str(tmp_path / "in" / "part0.warc.gz") for a in args]
    assert main([*fewer, "--resume"]) == EXIT_USAGE
    assert "input list differs" in capsys.readouterr().err
    (tmp_path / "in" / "part1.warc.gz").write_bytes(b"more bytes than before" * 10000)
    assert main([*args, "--resume"]) == EXIT_USAGE
    assert "part1.warc.gz changed size" in capsys.readouterr().err


def test_resume_and_overwrite_together_are_refused(unfinished, capsys):
    _, args, _ = unfinished
    assert main([*args, "--resume", "--overwrite"]) == EXIT_USAGE
    assert "pass one of them" in capsys.readouterr().err


def test_resume_of_a_finished_run_is_refused_and_without_a_run_starts_afresh(tmp_path, capsys):
    args = ["run", "--input", SAMPLE, "--config", "extract", "--no-progress", "--output", str(tmp_path / "out")]
    assert main([*args, "--resume"]) == EXIT_OK  # nothing there: a normal run, said so
    assert "holds no earlier run; starting from the first file" in capsys.readouterr().err
    assert not (tmp_path / "out" / "_work").exists()
    assert main([*args, "--resume"]) == EXIT_USAGE
    assert "finished run (stats.json): nothing to resume" in capsys.readouterr().err


def test_resume_on_the_multi_processing_runner_processes_only_the_unfinished_file(unfinished, tmp_path):
    """Workers in other processes read the saved results and commit the file left to do."""
    out, args, docs = unfinished
    todo, *done = sorted((out / "_work").glob("*.done"))
    left = json.loads(todo.read_text())["input"]
    todo.unlink()  # that file's results stay, without their marker: unfinished, to do again
    for warc in (tmp_path / "in").iterdir():
        if str(warc) != left:
            warc.write_bytes(b"\0" * warc.stat().st_size)
    flags = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert main([*args, "--resume", *flags]) == EXIT_OK
    assert pq.read_table(out / "documents").sort_by("id").to_pylist() == docs
    stats = json.loads((out / "stats.json").read_text())
    assert stats["resume"] == {"files_processed": 1, "files_resumed": 2} and not stats["file_errors"]
