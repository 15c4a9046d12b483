#!/usr/bin/env python3
"""A local Apache Flink for webrefine: job-server jar, a standalone cluster, Python workers.

    python scripts/local_flink.py prepare            # once: jar (Maven), Flink (PyPI), Python env
    python scripts/local_flink.py start --slots 2 [--taskmanagers 1] [--worker-pool]
    python scripts/local_flink.py flags              # the Beam flags that run a job on it
    python scripts/local_flink.py status             # cluster overview and jobs, as JSON
    python scripts/local_flink.py taskmanager start|kill
    python scripts/local_flink.py stop

Everything lives in ``.flink/`` of the checkout (``WEBREFINE_FLINK_DIR`` moves it); nothing
is fetched at run time, only by ``prepare``, from Maven Central and PyPI.

Why these versions (README "Flink"): the Python SDK and the job server must be the same Beam
release, and Maven Central serves Beam's Flink runner with all its dependencies only up to
Beam 2.62.0, for Flink 1.19. The prebuilt ``beam-runners-flink-*-job-server`` jars are not
served at all, so ``prepare`` builds the same jar (main class ``FlinkJobServerDriver``) from
the runner's artifacts with Maven (``scripts/flink/job-server.pom.xml``). The Flink path
therefore runs in its own Python environment with ``apache-beam==2.62.0``; everything else
keeps the newest Beam.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEAM_VERSION = "2.62.0"
FLINK_VERSION = "1.19.3"
FLINK_MINOR = "1.19"
# Ports: Flink's defaults; WEBREFINE_FLINK_PORT and WEBREFINE_FLINK_WORKER_PORT move them (a
# second cluster beside a first one, or a machine where 8081 is taken).
REST_PORT = int(os.environ.get("WEBREFINE_FLINK_PORT", "8081"))
WORKER_POOL_PORT = int(os.environ.get("WEBREFINE_FLINK_WORKER_PORT", "50000"))


def home() -> str:
    return os.path.abspath(os.environ.get("WEBREFINE_FLINK_DIR") or os.path.join(REPO, ".flink"))


def paths() -> dict[str, str]:
    h = home()
    return {
        "dir": h,
        "flink_home": os.path.join(h, f"flink-{FLINK_VERSION}", "pyflink"),
        "job_server_jar": os.path.join(h, "jars", f"beam-runners-flink-{FLINK_MINOR}-job-server-{BEAM_VERSION}.jar"),
        "python": os.path.join(h, f"venv-beam-{BEAM_VERSION}", "bin", "python"),
        "logs": os.path.join(h, "logs"),
        "worker_pool_pid": os.path.join(h, "worker-pool.pid"),
    }


def log(msg: str) -> None:
    print(f"local_flink: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> None:
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- prepare

def prepare_jar(p: dict[str, str]) -> None:
    if os.path.exists(p["job_server_jar"]):
        return
    if not shutil.which("mvn") or not shutil.which("java"):
        raise SystemExit("local_flink: Java and Maven are needed (apt-get install openjdk-17-jdk-headless maven)")
    build = os.path.join(p["dir"], "job-server-build")
    os.makedirs(build, exist_ok=True)
    shutil.copy(os.path.join(REPO, "scripts", "flink", "job-server.pom.xml"), os.path.join(build, "pom.xml"))
    run(["mvn", "-B", "-q", "-f", os.path.join(build, "pom.xml"), "package",
         f"-Dbeam.version={BEAM_VERSION}", f"-Dflink.minor={FLINK_MINOR}"])
    os.makedirs(os.path.dirname(p["job_server_jar"]), exist_ok=True)
    os.replace(os.path.join(build, "target", os.path.basename(p["job_server_jar"])), p["job_server_jar"])
    shutil.rmtree(build, ignore_errors=True)


def prepare_flink(p: dict[str, str]) -> None:
    if os.path.exists(os.path.join(p["flink_home"], "lib", f"flink-dist-{FLINK_VERSION}.jar")):
        return
    target = os.path.dirname(p["flink_home"])
    # --no-deps: apache-flink pins an old Beam; only its bin/, conf/ and lib/ are used here.
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "--target", target, f"apache-flink=={FLINK_VERSION}", f"apache-flink-libraries=={FLINK_VERSION}"])
    bindir = os.path.join(p["flink_home"], "bin")
    for name in os.listdir(bindir):
        os.chmod(os.path.join(bindir, name), 0o755)
    shutil.copy(os.path.join(p["flink_home"], "conf", "config.yaml"),
                os.path.join(p["flink_home"], "conf", "config.dist.yaml"))


def prepare_python(p: dict[str, str]) -> None:
    """A venv with the SDK that matches the job server, and this checkout (editable, so a
    change to the code needs no reinstall; a change to setup.py, new dependencies or a new
    package folder, does: the marker holds setup.py's digest)."""
    venv = os.path.dirname(os.path.dirname(p["python"]))
    marker = os.path.join(venv, ".webrefine-installed")
    with open(os.path.join(REPO, "setup.py"), "rb") as fh:
        stamp = f"{REPO}\n{hashlib.sha256(fh.read()).hexdigest()}"
    if os.path.exists(marker) and open(marker).read() == stamp:
        return
    if not os.path.exists(p["python"]):
        run([sys.executable, "-m", "venv", venv])
    run([p["python"], "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", REPO,
         f"apache-beam=={BEAM_VERSION}"])
    with open(marker, "w") as fh:
        fh.write(stamp)


def cmd_prepare(args) -> None:
    p = paths()
    os.makedirs(p["dir"], exist_ok=True)
    with open(os.path.join(p["dir"], ".gitignore"), "w") as fh:
        fh.write("*\n")
    prepare_jar(p)
    prepare_flink(p)
    if not args.no_python:
        prepare_python(p)
    print(json.dumps(p, indent=2))


# ---------------------------------------------------------------- cluster

def write_config(p: dict[str, str], slots: int, tm_memory: str) -> None:
    conf = os.path.join(p["flink_home"], "conf")
    dist = open(os.path.join(conf, "config.dist.yaml")).read()
    # Java 17 needs Flink's --add-opens list; keep it from the distribution's config.
    java_opts = re.search(r"^\s+all:\s*(.+)$", dist, re.M).group(1).strip()
    tmp = os.path.join(p["dir"], "tmp")
    os.makedirs(tmp, exist_ok=True)
    lines = {
        "env.java.opts.all": java_opts,
        "env.log.dir": p["logs"],
        "env.pid.dir": os.path.join(p["dir"], "run"),  # not /tmp: another cluster's pid files live there
        "jobmanager.rpc.address": "localhost",
        "jobmanager.rpc.port": 6123 + (REST_PORT - 8081),
        "jobmanager.bind-host": "localhost",
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.host": "localhost",
        "taskmanager.bind-host": "localhost",
        "taskmanager.numberOfTaskSlots": slots,
        "taskmanager.memory.process.size": tm_memory,
        # A Beam job is one Flink vertex per fused stage (over a hundred here), each with its
        # own network buffer pool: the default 128 MB of buffers is not enough.
        "taskmanager.memory.network.min": "256mb",
        "taskmanager.memory.network.max": "512mb",
        "taskmanager.memory.network.fraction": 0.15,
        # Elements go to the Python workers over gRPC in direct (off-heap) buffers; while a
        # worker is busy (MinHash) they queue there. With Flink's default (no task off-heap
        # memory) a 30k-document dedup failed with "OutOfMemoryError: Direct buffer memory".
        "taskmanager.memory.task.off-heap.size": "768mb",
        # And what the workers send back queues on the heap: up to 100 messages of up to
        # 10 MB per running task. With 680 MB of task heap a 30k-document dedup hit
        # "OutOfMemoryError: Java heap space" in a gRPC thread, and the job hung. Batch jobs
        # sort in managed memory; a smaller share of it leaves the heap ~2.8 GB of 6 GB.
        "taskmanager.memory.managed.fraction": 0.15,
        # An uncaught error in a TaskManager thread (such as that one) kills the TaskManager,
        # so the job fails over instead of hanging.
        "cluster.uncaught-exception-handling": "FAIL",
        "rest.address": "localhost",
        "rest.bind-address": "localhost",
        "rest.port": REST_PORT,
        "parallelism.default": slots,
        "io.tmp.dirs": tmp,
        # Recovery: a lost TaskManager fails its tasks; the job restarts them (region failover
        # re-runs what depended on the lost results) once a TaskManager offers slots again.
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 10,
        "restart-strategy.fixed-delay.delay": "2 s",
        "jobmanager.execution.failover-strategy": "region",
        "heartbeat.interval": 2000,
        "heartbeat.timeout": 10000,
    }
    with open(os.path.join(conf, "config.yaml"), "w") as fh:
        fh.write("# written by scripts/local_flink.py start\n")
        for key, value in lines.items():
            fh.write(f"{key}: {json.dumps(value) if isinstance(value, str) else value}\n")
    with open(os.path.join(conf, "workers"), "w") as fh:
        fh.write("localhost\n")


def flink_env(p: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "FLINK_HOME": p["flink_home"], "FLINK_CONF_DIR": os.path.join(p["flink_home"], "conf"),
           "FLINK_LOG_DIR": p["logs"]}
    env.pop("PYTHONPATH", None)
    return env


def rest(path: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(f"http://localhost:{REST_PORT}{path}", timeout=timeout) as resp:
        return json.load(resp)


def wait_for_slots(n: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last: dict | str = "no answer"
    while time.monotonic() < deadline:
        try:
            last = rest("/overview")
            if last.get("slots-total", 0) >= n:
                return last
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise SystemExit(f"local_flink: the cluster did not offer {n} slots in {timeout:.0f} s: {last}")


def daemon(p: dict[str, str], script: str, action: str) -> None:
    subprocess.run([os.path.join(p["flink_home"], "bin", script), action], env=flink_env(p), check=True,
                   stdout=subprocess.DEVNULL)


def taskmanager_pids() -> list[int]:
    """This Flink's TaskManagers (another cluster on the machine is left alone)."""
    out = subprocess.run(["pgrep", "-f", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"],
                         capture_output=True, text=True).stdout
    pids = []
    for pid in map(int, out.split()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if paths()["flink_home"].encode() in fh.read():
                    pids.append(pid)
        except OSError:
            pass
    return pids


def cmd_start(args) -> None:
    p = paths()
    if not os.path.exists(p["flink_home"]):
        raise SystemExit("local_flink: run 'prepare' first")
    try:
        rest("/overview", timeout=1)
        raise SystemExit(f"local_flink: a Flink REST endpoint already answers on :{REST_PORT}; run 'stop' first")
    except OSError:
        pass
    os.makedirs(p["logs"], exist_ok=True)
    write_config(p, args.slots, args.tm_memory)
    daemon(p, "jobmanager.sh", "start")
    for _ in range(args.taskmanagers):
        daemon(p, "taskmanager.sh", "start")
    overview = wait_for_slots(args.slots * args.taskmanagers)
    if args.worker_pool:
        start_worker_pool(p)
    print(json.dumps(overview))


def start_worker_pool(p: dict[str, str]) -> None:
    """Beam's EXTERNAL environment: a pool that starts Python SDK workers on request, as one
    beside each TaskManager does on a real cluster. It runs the Flink env's Python."""
    log_path = os.path.join(p["logs"], "worker-pool.log")
    env = {**os.environ, "PATH": os.path.dirname(p["python"]) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("PYTHONPATH", None)
    with open(log_path, "ab") as fh:
        proc = subprocess.Popen([p["python"], "-m", "apache_beam.runners.worker.worker_pool_main",
                                 f"--service_port={WORKER_POOL_PORT}"], stdout=fh, stderr=fh, env=env,
                                start_new_session=True)
    with open(p["worker_pool_pid"], "w") as fh:
        fh.write(str(proc.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("localhost", WORKER_POOL_PORT)) == 0:
                return
        if proc.poll() is not None:
            raise SystemExit(f"local_flink: the worker pool exited; see {log_path}")
        time.sleep(0.3)
    raise SystemExit(f"local_flink: the worker pool did not listen on :{WORKER_POOL_PORT}; see {log_path}")


def cmd_stop(args) -> None:
    p = paths()
    if os.path.exists(p["worker_pool_pid"]):
        try:
            os.killpg(int(open(p["worker_pool_pid"]).read()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        os.remove(p["worker_pool_pid"])
    if os.path.exists(p["flink_home"]):
        for script in ("taskmanager.sh", "jobmanager.sh"):
            subprocess.run([os.path.join(p["flink_home"], "bin", script), "stop-all"], env=flink_env(p),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for pid in taskmanager_pids():  # e.g. one started by hand
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cmd_taskmanager(args) -> None:
    p = paths()
    if args.action == "start":
        before = {tm["id"] for tm in rest("/taskmanagers")["taskmanagers"]}
        daemon(p, "taskmanager.sh", "start")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            new = [tm for tm in rest("/taskmanagers")["taskmanagers"] if tm["id"] not in before]
            if new:
                print(json.dumps({"started": new[0]["id"], "slots": new[0]["slotsNumber"]}))
                return
            time.sleep(0.3)
        raise SystemExit("local_flink: the new TaskManager did not register in 120 s")
    else:  # kill: SIGKILL, as a crashed machine or the OOM killer would
        pids = taskmanager_pids()
        if not pids:
            raise SystemExit("local_flink: no TaskManager is running")
        os.kill(pids[0], signal.SIGKILL)
        print(json.dumps({"killed": pids[0]}))


def cmd_status(args) -> None:
    try:
        print(json.dumps({"overview": rest("/overview"), "jobs": rest("/jobs/overview")["jobs"]}, indent=2))
    except OSError as exc:
        raise SystemExit(f"local_flink: no cluster answers on :{REST_PORT} ({exc})")


def cmd_flags(args) -> None:
    p = paths()
    flags = ["--runner=FlinkRunner", f"--flink_version={FLINK_MINOR}", f"--flink_job_server_jar={p['job_server_jar']}"]
    if args.embedded:
        flags += ["--flink_master=[local]", "--environment_type=LOOPBACK"]
    else:
        flags += [f"--flink_master=localhost:{REST_PORT}", f"--parallelism={args.parallelism}"]
        flags += (["--environment_type=LOOPBACK"] if args.loopback else
                  ["--environment_type=EXTERNAL", f"--environment_config=localhost:{WORKER_POOL_PORT}"])
    print(" ".join(flags))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="build the job-server jar, install Flink and the Python env")
    prep.add_argument("--no-python", action="store_true", help="skip the Python env (jar and Flink only)")
    start = sub.add_parser("start", help="start a JobManager and TaskManagers (and the worker pool)")
    start.add_argument("--slots", type=int, default=2, help="task slots per TaskManager")
    start.add_argument("--taskmanagers", type=int, default=1)
    start.add_argument("--tm-memory", default="6g", help="TaskManager process size")
    start.add_argument("--worker-pool", action="store_true", help=f"start a Beam worker pool on :{WORKER_POOL_PORT}")
    sub.add_parser("stop", help="stop the cluster and the worker pool")
    sub.add_parser("status", help="cluster overview and jobs (REST), as JSON")
    tm = sub.add_parser("taskmanager", help="start one more TaskManager, or SIGKILL one")
    tm.add_argument("action", choices=("start", "kill"))
    flags = sub.add_parser("flags", help="print the Beam flags for a webrefine run on this Flink")
    flags.add_argument("--embedded", action="store_true", help="an embedded Flink in the job server ([local])")
    flags.add_argument("--loopback", action="store_true", help="Python workers in the submitting process")
    flags.add_argument("--parallelism", type=int, default=2)
    sub.add_parser("paths", help="where the jar, Flink and the Python env are, as JSON")
    args = parser.parse_args(argv)
    if args.command == "paths":
        print(json.dumps(paths(), indent=2))
        return
    {"prepare": cmd_prepare, "start": cmd_start, "stop": cmd_stop, "status": cmd_status,
     "taskmanager": cmd_taskmanager, "flags": cmd_flags}[args.command](args)


if __name__ == "__main__":
    main()
