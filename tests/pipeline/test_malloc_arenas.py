import os
import platform
import subprocess
import sys

from webrefine.pipeline.malloc_arenas import limit_arenas


def test_sets_the_limit_for_this_process_and_its_children(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    took = limit_arenas(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    assert took == (platform.libc_ver()[0] == "glibc")  # glibc's mallopt accepted it
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('MALLOC_ARENA_MAX'))"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "2"


def test_a_users_own_value_stands(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas(2) is False
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


def arenas_seen_by_main(*argv):
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    code = ("import os, sys; sys.argv = ['webrefine', *sys.argv[1:]]\n"
            "from webrefine.pipeline import cli\n"
            "seen = []\n"
            "cli.main = lambda argv=None: seen.append(os.environ.get('MALLOC_ARENA_MAX')) or 0\n"
            "cli.console_main(); print(seen[0])")
    return subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_command_line_sets_it_before_a_multi_process_run_only():
    assert arenas_seen_by_main("run", "--output", "o", "--direct_running_mode=multi_processing") == "2"
    assert arenas_seen_by_main("run", "--output", "o") == "None"  # in-process: it saved nothing
