"""Fewer glibc malloc arenas for the runner and every process it starts.

glibc gives each thread that contends for the heap an arena of its own, up to 8 per core, and
rarely hands their freed pages back. Beam's multi-process local runner and its SDK workers run
bundles on many threads, so each process kept several arenas of freed shuffle data. With two
arenas, on the 16-core lent machine (README, Deduplication at scale): 100k documents, 16
workers, 11.2 GB in all instead of 12.5; 1M documents 16.5 GB instead of 23 GB, the largest
process 3.7 GB instead of 5. An in-process run saved nothing (30k documents on 2 cores: 0.83-0.87
GB either way), so the command line sets it for multi-process runs only (pipeline/cli.py). A
value the user set in ``MALLOC_ARENA_MAX`` is left alone.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(n: int = ARENAS) -> bool:
    """Sets ``MALLOC_ARENA_MAX`` for child processes (read when they start) and, through
    ``mallopt``, for this process's threads to come. Returns whether this process took it
    (False off glibc, or when the user's own value stands)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(n)
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): the variable is simply unused
        return False
    return mallopt(_M_ARENA_MAX, n) == 1
