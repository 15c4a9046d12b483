"""Runners and packaging: the same documents and stats on every local runner, a Dataflow
job built offline, and the built wheel working from outside the source tree."""
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

import pyarrow.parquet as pq
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Workers in other processes import the installed package, never this tree through a path.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
ELSEWHERE = tempfile.gettempdir()  # not the source tree

RUNNERS = {
    "direct-in-process": [],
    "direct-multi-processing": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "portable-loopback": ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
}


def cli(*args, cwd=ELSEWHERE, python=sys.executable, env=ENV):
    return subprocess.run([python, "-m", "webrefine", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def counts(stats):
    """What every runner must agree on; not "timings" (seconds per stage, which depend on the
    machine) or "resume" (how the run went), nor the run header's clocks."""
    return {"input": stats["input"], "output": stats["output"], "errors": stats["errors"],
            "file_errors": stats["file_errors"], "stages": stats["stages"], "histograms": stats["histograms"],
            "samples": stats["samples"]}


def test_the_comparison_leaves_out_only_times_and_how_the_run_went(runs):
    _, stats = runs["direct-in-process"]
    assert stats["resume"] == {"files_processed": 1, "files_resumed": 0}
    assert not any(key.startswith(("timing.", "resume.")) for key in stats["counters"])
    timings = stats["timings"]
    # Per-document stages: measured in the workers; dedup stages: the DirectRunner's step times.
    per_document = ["read", "url_filter", "extract", "language", "gopher_repetition", "gopher_quality",
                    "line_corrections"]
    assert list(timings)[:len(per_document)] == per_document
    assert all(set(timings[n]) == {"wall_s", "cpu_s"} for n in per_document) and timings["extract"]["wall_s"] > 0
    assert {"exact_dedup", "url_dedup", "minhash_dedup"} <= timings.keys()
    assert timings["minhash_dedup"]["runner_s"] > 0


STDERR = {}  # runner → what the run printed on stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, flags in RUNNERS.items():
        target = tmp_path_factory.mktemp(name) / "out"
        proc = cli("run", "--output", str(target), "--no-progress", *flags)
        assert proc.returncode == 0, proc.stderr[-3000:]
        STDERR[name] = proc.stderr
        docs = pq.read_table(target / "documents").sort_by("id")
        stats = json.loads((target / "stats.json").read_text())
        out[name] = (docs, stats)
    return out


def test_no_beam_warnings_on_any_local_runner(runs):
    for name, stderr in STDERR.items():
        assert "WARNING" not in stderr, (name, stderr[-2000:])


def test_identical_documents_on_every_runner(runs):
    base_docs, _ = runs["direct-in-process"]
    assert base_docs.num_rows > 10
    for name, (docs, _) in runs.items():
        assert docs.column("id").to_pylist() == base_docs.column("id").to_pylist(), name
        assert docs.column("text").to_pylist() == base_docs.column("text").to_pylist(), name
        assert docs.column("signals").to_pylist() == base_docs.column("signals").to_pylist(), name


def test_identical_stats_on_every_runner(runs):
    _, base = runs["direct-in-process"]
    for name, (_, stats) in runs.items():
        assert counts(stats) == counts(base), name


def test_characters_in_are_out_plus_dropped_for_filters_and_dedup(runs):
    _, stats = runs["direct-in-process"]
    rewriters = {"read", "extract", "line_corrections"}  # they change text (read: none yet)
    checked = {s["name"]: s for s in stats["stages"] if s["name"] not in rewriters}
    assert {"language", "gopher_quality", "exact_dedup", "minhash_dedup"} <= checked.keys()
    for name, s in checked.items():  # exact_substring_dedup also cuts spans out of kept documents
        assert s["chars_in"] == s["chars_out"] + sum(s["dropped_chars"].values()) + s.get("chars_cut", 0), name
    assert "chars_cut" in checked["exact_substring_dedup"]
    assert checked["minhash_dedup"]["dropped_chars"]["minhash_dedup.duplicate"] > 0


def test_dataflow_job_builds_offline_with_setup_file(tmp_path):
    proc = cli("run", "--input", "gs://example-bucket/CC-MAIN-2024-22/*.warc.gz", "--output", "gs://example-bucket/rw",
               "--config", "refinedweb", "--runner", "DataflowRunner", "--project", "example-project",
               "--region", "us-central1", "--temp_location", "gs://example-bucket/tmp",
               "--setup_file", os.path.join(ROOT, "setup.py"), "--dry_run=True", "--no_auth")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dry run" in proc.stderr


def test_sdist_carries_configs_lists_and_sample(tmp_path):
    proc = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = tarfile.open(next(tmp_path.glob("*.tar.gz"))).getnames()
    for needed in ("configs/refinedweb.yaml", "pipeline/data/sample.warc.gz", "filters/data/url_domains.txt"):
        assert any(n.endswith(needed) for n in names), needed


def test_built_wheel_runs_from_outside_the_source_tree(tmp_path):
    wheels = tmp_path / "wheels"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(wheels), ROOT], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(wheels.glob("webrefine-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "webrefine/pipeline/data/sample.warc.gz" in names and "webrefine/configs/fineweb.yaml" in names
    # One top-level package: nothing generic (pipeline, filters, ...) lands in site-packages.
    assert {n.split("/")[0] for n in names} == {"webrefine", wheel.name.split("-py3")[0] + ".dist-info"}, names
    # A fresh venv; its dependencies come from this interpreter's site-packages (no download),
    # webrefine itself only from the wheel. Not `venv --system-site-packages`: run from a venv,
    # that links the base interpreter's packages, not this environment's.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    venv_site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    with open(os.path.join(venv_site, "_webrefine_test_deps.pth"), "w") as fh:
        fh.write("\n".join(sorted(ours)) + "\n")  # appended to sys.path: the venv's own come first
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Local files with generic names beside the command do not shadow the package.
    for name in ("pipeline.py", "filters.py", "dedup.py", "configs.py"):
        (elsewhere / name).write_text("raise ImportError('the local file was imported')\n")
    where = subprocess.run([py, "-c", "import webrefine.pipeline as p; print(p.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    proc = subprocess.run([str(venv / "bin" / "webrefine"), "run", "--output", str(elsewhere / "out"),
                           "--no-progress"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert pq.read_table(elsewhere / "out" / "documents").num_rows > 10
    # python -m webrefine; the extraction helper processes import the installed package too.
    proc = subprocess.run([py, "-m", "webrefine", "run", "--output", str(elsewhere / "out2"), "--no-progress",
                           "--config", "extract"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
