"""A run killed midway, then run again into the same output: no partial or duplicate shards."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq

from webrefine.pipeline.cli import EXIT_USAGE, SAMPLE, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shard_writer_started(out):
    return (out / "documents").exists() and any((out / "documents").iterdir())


def a_file_is_done(out):
    return (out / "_work").exists() and any((out / "_work").glob("*.done"))


def start_a_long_run(tmp_path, ready=shard_writer_started, **popen):
    """A run over three copies of the sample, returned once ``ready(out)``."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        shutil.copy(SAMPLE, inputs / f"copy{i}.warc.gz")
    out = tmp_path / "out"
    args = ["run", "--input", str(inputs / "*.warc.gz"), "--output", str(out), "--config", "extract", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "webrefine", *args], cwd=ROOT, start_new_session=True,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **popen)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if ready(out):
            break
        time.sleep(0.05)
    return proc, out, args


def test_killed_run_then_rerun_with_overwrite(tmp_path):
    proc, out, args = start_a_long_run(tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "stats.json").exists(), "the run finished before it could be killed"
    # Whatever a killed run left is either Beam's temp files or complete, readable shards.
    for part in (out / "documents").glob("part-*.parquet"):
        pq.read_table(part)
    # Running into it again without --overwrite is a clear error; with it, a clean result.
    assert main(args) == EXIT_USAGE
    assert main(args + ["--overwrite"]) == 0
    files = sorted(p.name for p in (out / "documents").iterdir())
    assert files and all(f.startswith("part-") and f.endswith(".parquet") for f in files), files
    ids = pq.read_table(out / "documents").column("id").to_pylist()
    clean = tmp_path / "clean"
    assert main(["run", "--input", str(tmp_path / "in" / "*.warc.gz"), "--output", str(clean), "--config", "extract",
                 "--no-progress"]) == 0
    assert sorted(ids) == sorted(pq.read_table(clean / "documents").column("id").to_pylist())


def test_temp_folders_of_a_restarted_write_are_removed_after_the_job(tmp_path):
    from webrefine.pipeline.beam.writers import remove_temp_leftovers

    (tmp_path / "documents" / "beam-temp-part-1").mkdir(parents=True)
    (tmp_path / "rejects" / "beam-temp-part-2").mkdir(parents=True)
    (tmp_path / "rejects" / "beam-temp-part-2" / "orphan").write_text("x")
    (tmp_path / "documents" / "part-00000-of-00001.parquet").write_text("shard")
    assert remove_temp_leftovers(str(tmp_path)) == 2
    assert sorted(p.name for p in (tmp_path / "documents").iterdir()) == ["part-00000-of-00001.parquet"]
    assert list((tmp_path / "rejects").iterdir()) == []
    assert remove_temp_leftovers(str(tmp_path)) == 0


def test_ctrl_c_prints_one_line_exits_130_keeps_the_finished_files_and_resume_finishes(tmp_path):
    proc, out, args = start_a_long_run(tmp_path, a_file_is_done, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("webrefine: 3 warc")]
    assert len(lines) == 1 and lines[0].startswith("webrefine: interrupted"), stderr[-2000:]
    # The files done are kept for --resume; the interrupted attempt's temp shards are not.
    done = len(list((out / "_work").glob("*.done")))
    assert f"{done} of 3 input file(s) are done" in lines[0] and "--resume" in lines[0], lines[0]
    assert sorted(os.listdir(out)) == ["_work", "config.yaml"], os.listdir(out)
    rerun = subprocess.run([sys.executable, "-m", "webrefine", *args, "--resume"], cwd=ROOT, capture_output=True,
                           text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"resumed: {done} file(s)" in rerun.stdout, rerun.stdout


def test_ctrl_c_before_any_file_is_done_removes_everything_and_the_same_command_runs_again(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(SAMPLE, inputs / "one.warc.gz")
    out = tmp_path / "out"
    args = ["run", "--input", str(inputs), "--output", str(out), "--config", "extract", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-m", "webrefine", *args], cwd=ROOT, start_new_session=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (out / "config.yaml").exists():
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-2000:]
    assert "were removed" in stderr, stderr[-2000:]
    assert not out.exists() or os.listdir(out) == [], os.listdir(out)
    rerun = subprocess.run([sys.executable, "-m", "webrefine", *args], cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
