"""Apache Flink, for real: embedded Flink and a standalone local cluster (JobManager and
TaskManager processes, Python workers from a Beam worker pool) give the DirectRunner's
documents and stats; a TaskManager killed mid-job loses and doubles nothing.

The cluster comes from scripts/local_flink.py (README "Flink"): ``prepare`` builds the
job-server jar with Maven and installs Flink 1.19 and a Python env with the matching Beam
SDK (2.62.0); the runs below use that env's Python. A cluster already started with
``local_flink.py start --worker-pool`` (as .ci/run does) is used; otherwise these tests start
one and stop it. Without Java or Maven the module is skipped, except in CI (CI=true).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid

import pyarrow.parquet as pq
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "local_flink.py")
SAMPLE = os.path.join(ROOT, "pipeline", "data", "sample.warc.gz")
DEDUP_DOCS = os.path.join(ROOT, "tests", "fixtures", "dedup_eval_docs.parquet")
REST = f"http://localhost:{os.environ.get('WEBREFINE_FLINK_PORT', '8081')}"

_missing = [tool for tool in ("java", "mvn") if not shutil.which(tool)]
if _missing and os.environ.get("CI") != "true":
    pytest.skip(f"Flink tests need {' and '.join(_missing)} (apt-get install openjdk-17-jdk-headless maven)",
                allow_module_level=True)


def local_flink(*args, timeout=900):
    proc = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"local_flink.py {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stdout


def rest(path):
    with urllib.request.urlopen(REST + path, timeout=10) as resp:
        return json.load(resp)


def cluster_is_up():
    try:
        rest("/overview")
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def flink():
    paths = json.loads(local_flink("prepare"))  # cached after the first time
    started = not cluster_is_up()
    if started:
        local_flink("start", "--slots", "2", "--worker-pool")
    yield paths
    if started:
        local_flink("stop")


def command(python):
    """The ``webrefine`` command installed beside this Python."""
    return os.path.join(os.path.dirname(python), "webrefine")


def webrefine(python, output, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([command(python), "run", "--output", str(output), "--no-progress", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def flink_flags(*extra):
    return local_flink("flags", *extra).split()


def result(output):
    docs = pq.read_table(os.path.join(output, "documents")).sort_by("id")
    with open(os.path.join(output, "stats.json")) as fh:
        stats = json.load(fh)
    return docs, stats


def counts(stats):
    """What every runner must agree on; not "timings" (seconds per stage) or "resume" (how
    the run went), nor the run header's clocks."""
    return {key: stats[key] for key in ("input", "output", "errors", "file_errors", "stages", "histograms",
                                        "samples")}


def assert_same_run(got, want):
    (docs, stats), (ref_docs, ref_stats) = got, want
    assert docs.num_rows == ref_docs.num_rows > 10
    for column in ("id", "url", "text", "signals", "language", "language_score", "source"):
        assert docs.column(column).to_pylist() == ref_docs.column(column).to_pylist(), column
    assert counts(stats) == counts(ref_stats)


def assert_complete_output(output):
    """Only finished shards: no temp files of a retried or killed attempt, each id once."""
    names = sorted(os.listdir(output))
    assert names == ["config.yaml", "documents", "index", "rejects", "report.html", "stats.json"], names
    for sub in ("documents", "rejects", "index"):
        leftovers = [n for n in os.listdir(os.path.join(output, sub))
                     if not n.startswith("part-") and n != "_manifest.json"]
        assert not leftovers, leftovers
    assert os.path.exists(os.path.join(output, "index", "_manifest.json"))
    ids = pq.read_table(os.path.join(output, "documents"), columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids))
    # the dedup index holds each kept document once (pipeline/beam/dedup_index.py)
    indexed = pq.read_table(os.path.join(output, "index"), columns=["id"]).column("id").to_pylist()
    assert sorted(indexed) == sorted(ids)


INPUTS = {
    "sample": ["--input", SAMPLE],
    "dedup": ["--input", DEDUP_DOCS, "--config", "dedup"],
}


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    """The reference: the DirectRunner in this environment (the newest Beam)."""
    out = {}
    for name, args in INPUTS.items():
        target = tmp_path_factory.mktemp(f"direct-{name}") / "out"
        proc = webrefine(sys.executable, target, *args)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out[name] = result(target)
    return out


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_embedded_flink_equals_direct_runner(flink, direct, tmp_path, name):
    proc = webrefine(flink["python"], tmp_path / "out", *INPUTS[name], *flink_flags("--embedded"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(result(tmp_path / "out"), direct[name])
    assert_complete_output(tmp_path / "out")


def job_named(name):
    jobs = [j for j in rest("/jobs/overview")["jobs"] if j["name"] == name]
    assert len(jobs) == 1, rest("/jobs/overview")
    return rest(f"/jobs/{jobs[0]['jid']}")


EXPECTED_VERTICES = {  # Flink vertex names carry the Beam step labels fused into them
    "sample": ["Files/", "Stages/Dedup[url_dedup]", "Stages/Dedup[minhash_dedup]", "Output/WriteDocuments",
               "WriteStats"],
    "dedup": ["Files/", "Stages/Dedup[exact_dedup]", "Stages/Dedup[minhash_dedup]", "Output/WriteDocuments",
              "WriteStats"],
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_standalone_cluster_equals_direct_runner(flink, direct, tmp_path, name):
    job = f"webrefine-test-{name}-{uuid.uuid4().hex[:8]}"
    proc = webrefine(flink["python"], tmp_path / "out", *INPUTS[name], *flink_flags("--parallelism", "2"),
                     f"--job_name={job}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(result(tmp_path / "out"), direct[name])
    assert_complete_output(tmp_path / "out")
    # The job ran on the cluster, not in an embedded Flink: its JobManager lists it.
    detail = job_named(job)
    assert detail["state"] == "FINISHED"
    vertices = detail["vertices"]
    assert all(v["status"] == "FINISHED" for v in vertices)
    assert max(v["parallelism"] for v in vertices) == 2
    names = " ".join(v["name"] for v in vertices)
    for label in EXPECTED_VERTICES[name]:
        assert label in names, label


def test_killed_taskmanager_loses_and_doubles_nothing(flink, direct, tmp_path):
    """SIGKILL the TaskManager once a third of the job's vertices have finished, start a new
    one: the restart strategy re-runs the lost work, and the output equals a clean run's."""
    job = f"webrefine-test-kill-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [command(flink["python"]), "run", "--output", str(tmp_path / "out"), "--no-progress",
           *INPUTS["dedup"], *flink_flags("--parallelism", "2"), f"--job_name={job}"]
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        killed_at = None
        deadline = time.monotonic() + 300
        while killed_at is None and time.monotonic() < deadline and proc.poll() is None:
            running = [j for j in rest("/jobs/overview")["jobs"] if j["name"] == job and j["state"] == "RUNNING"]
            if running:
                vertices = rest(f"/jobs/{running[0]['jid']}")["vertices"]
                done = sum(v["status"] == "FINISHED" for v in vertices)
                if done >= len(vertices) // 3:
                    local_flink("taskmanager", "kill")
                    killed_at = (done, len(vertices))
                    local_flink("taskmanager", "start")
            time.sleep(0.3)
        stdout, stderr = proc.communicate(timeout=600)
    assert killed_at, f"the job ended before a third of it had run: {stderr[-2000:]}"
    assert proc.returncode == 0, stderr[-3000:]
    detail = job_named(job)
    assert detail["state"] == "FINISHED"
    failures = rest(f"/jobs/{detail['jid']}/exceptions")["exceptionHistory"]["entries"]
    assert failures, "the kill did not hit the job: nothing to recover from"
    assert_same_run(result(tmp_path / "out"), direct["dedup"])
    assert_complete_output(tmp_path / "out")
