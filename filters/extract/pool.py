"""Time-boxed helper processes for the extraction engines (used by the extract stage).

trafilatura has no timeout in its Python API (docs/rules.md, Extraction), so pages go to helper processes
that are killed and restarted when a page takes too long. A helper is a new interpreter
(``python -c``), not a fork: the parent may run gRPC threads, and multiprocessing would
re-import the worker's ``__main__``. Messages are length-prefixed pickles over pipes.
"""
from __future__ import annotations

import fcntl
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

from webrefine.filters.extract.engines import Engine, make_engine


def _encode(obj: Any) -> bytes:
    """One message: a length-prefixed pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("<Q", len(data)) + data


def _write_all(fd: int, message: bytes) -> None:
    """A raw write to a pipe may be partial (a large page, a signal, a ptrace stop): loop
    until every byte is out, or the reader desynchronises."""
    view = memoryview(message)
    while view:
        view = view[os.write(fd, view):]


def _write_msg(fd: int, obj: Any) -> None:
    _write_all(fd, _encode(obj))


def _grow_pipe(fd: int) -> int:
    """Ask for a 1 MiB pipe (the kernel's default cap for unprivileged processes); returns
    the capacity it has."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (AttributeError, OSError):
        return 65536


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    """``n`` bytes from ``fd``; TimeoutError past ``deadline`` (monotonic), so a reply that
    stops half-way can never block the worker for good."""
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError(f"{len(buf)} of {n} bytes")
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        buf += chunk
    return bytes(buf)


def _read_msg(fd: int, deadline: float | None = None) -> Any:
    (n,) = struct.unpack("<Q", _read_exact(fd, 8, deadline))
    return pickle.loads(_read_exact(fd, n, deadline))


def serve(name: str, params: dict[str, Any]) -> None:
    """Helper process main loop: HTML in on stdin, ("ok", text) or ("error", msg) out on stdout."""
    # Ctrl-C reaches the whole process group; the worker handles it, and a helper ends when
    # its pipe closes, without a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine = make_engine(name, params)
    engine.load()  # import before the first page
    # The protocol owns fds 0 and 1; anything printed goes to stderr instead.
    stdin, stdout = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    _grow_pipe(stdout)  # a reply is written whole while the worker is busy elsewhere
    sys.stdout = sys.stderr
    _write_msg(stdout, READY)  # the pages' clocks start now, not while the imports ran
    while True:
        try:
            html = _read_msg(stdin)
        except EOFError:
            return
        start = time.monotonic()
        try:
            reply = ("ok", engine.extract(html))
        except BaseException as exc:  # noqa: BLE001 - any failure of the extractor is a drop
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        _write_msg(stdout, (*reply, time.monotonic() - start))


# How long a reply that has started to arrive may take to finish before its helper is
# declared broken (killed, the page counted as an extract.error).
REPLY_GRACE_S = 30.0
# A helper's first message once its imports are done; until then its pages' time limits do
# not run (a loaded machine can take many seconds to import trafilatura). One that is not
# ready this long after it started is killed, its page counted as a timeout.
READY = ("ready", None, 0.0)
START_LIMIT_S = 300.0


class Helper:
    """One helper process (``python -c``, not a fork: the parent may run gRPC threads, and
    multiprocessing would re-import the worker's __main__) and the pipes to it; restarted
    after a timeout or a crash."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.proc: subprocess.Popen | None = None
        self.capacity = 65536  # bytes its input pipe holds
        self.ready = False  # its READY message was read
        self.started_at = 0.0  # when the process was started (monotonic)

    def _start(self) -> None:
        # The helper imports the installed package, like any process on the worker.
        name, params = self.engine.spec()
        # A Ctrl-C is the parent's to handle (it stops the helpers). The helper runs in a session
        # of its own, so the terminal's SIGINT never reaches it: ignoring SIGINT in its code alone
        # left a window, the interpreter's start-up, where a Ctrl-C printed the traceback of an
        # interrupted import (setsid happens in the child before exec, safe with the parent's threads).
        code = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                f"from webrefine.filters.extract.pool import serve; serve({name!r}, {params!r})")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            start_new_session=True,
        )
        self.capacity = _grow_pipe(self.proc.stdin.fileno())
        self.ready, self.started_at = False, time.monotonic()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            for fh in (self.proc.stdin, self.proc.stdout):
                fh.close()
        self.proc = None

    def send(self, message: bytes) -> bool:
        """Start (if needed) and hand one page (``_encode``d) to the helper; False if it
        died on the way.

        A page's time limit counts from here, or from the helper's READY message if it is
        still starting (``HelperPool._poll``): its import time is never counted against a
        page, so a loaded machine gives no false timeout.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self._start()
        try:
            _write_all(self.proc.stdin.fileno(), message)
            return True
        except OSError:
            self.stop()
            return False

    def deadline(self, since: float, timeout_s: float) -> float:
        """When a page sent at ``since`` is past its limit: ``timeout_s`` after it was sent or
        after the helper became ready, whichever is later; a helper still importing gets
        ``START_LIMIT_S`` from its start."""
        if not self.ready:
            return self.started_at + START_LIMIT_S
        return since + timeout_s

    def read_ready(self) -> bool:
        """Read the READY message; False (and the helper stopped) if something else came."""
        try:
            message = _read_msg(self.proc.stdout.fileno(), time.monotonic() + REPLY_GRACE_S)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError, TimeoutError):
            message = None
        if message != READY:
            self.stop()
            return False
        self.ready = True
        return True

    def receive(self, timeout_s: float) -> tuple[str, Any]:
        """The helper's reply; a page whose own extraction took longer than ``timeout_s``
        is a timeout even if the reply was read in time, and one that finished in time is
        kept even if the reply was read late (the parent was busy with other helpers)."""
        try:  # the reply is being written: it is complete within seconds, or never
            status, result, seconds = _read_msg(self.proc.stdout.fileno(), time.monotonic() + REPLY_GRACE_S)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError) as exc:
            self.stop()
            return "error", f"extractor process died: {type(exc).__name__}"
        return ("timeout", None) if seconds > timeout_s else (status, result)


class HelperPool:
    """``size`` helper processes extracting pages in parallel, each page time-boxed.

    Pages are submitted one by one and results collected as they come, so the helpers stay
    busy while the worker reads, identifies languages and filters in its own process:
    one worker (one Beam DoFn) uses several cores for the extractor. Each helper holds up
    to ``depth`` pages (one in progress, the rest waiting in its pipe), so it starts its
    next page as soon as it finishes one instead of waiting for the worker to come back.
    A page only waits behind another if it fits in the pipe: the worker's write then never
    blocks on a helper that is itself blocked writing a reply.
    """

    def __init__(self, engine: Engine, size: int, depth: int = 2) -> None:
        self.helpers = [Helper(engine) for _ in range(size)]
        self.depth = depth
        # pages sent to each helper and not answered yet, oldest (the one in progress) first
        self.queues: dict[Helper, deque[tuple[Any, bytes]]] = {h: deque() for h in self.helpers}
        self.started: dict[Helper, float] = {}  # when the helper's oldest page started (about)
        self.done: list[tuple[Any, tuple[str, Any]]] = []
        self.lock = threading.Lock()
        for helper in self.helpers:  # start together: each spends a while importing trafilatura
            helper._start()

    def stop(self) -> None:
        for helper in self.helpers:
            helper.stop()
            self.queues[helper].clear()

    def _send(self, helper: Helper, key: Any, message: bytes) -> None:
        if not helper.send(message):
            self.done.append((key, ("error", "extractor process died")))
            self._resend(helper)
            return
        if not self.queues[helper]:
            self.started[helper] = time.monotonic()
        self.queues[helper].append((key, message))

    def _resend(self, helper: Helper) -> None:
        """The helper died or was killed: its waiting pages never started; send them again
        (``send`` restarts it)."""
        waiting = list(self.queues[helper])
        self.queues[helper].clear()
        for key, message in waiting:
            self._send(helper, key, message)

    def _poll(self, block: bool, timeout_s: float) -> None:
        """Collect finished pages; kill helpers past their deadline. ``block``: wait for one."""
        active = [h for h in self.helpers if self.queues[h]]
        if not active:
            return
        deadlines = {h: h.deadline(self.started[h], timeout_s) for h in active}
        wait = max(0.0, min(deadlines.values()) - time.monotonic()) if block else 0.0
        ready, _, _ = select.select([h.proc.stdout for h in active], [], [], wait)
        now = time.monotonic()
        for helper in active:
            if helper.proc.stdout in ready and not helper.ready:
                if helper.read_ready():
                    self.started[helper] = now  # its first page starts now
                else:  # died while starting: its first page is an error (a helper that can
                    key, _ = self.queues[helper].popleft()  # never start ends every page)
                    self.done.append((key, ("error", "extractor process died while starting")))
                    self._resend(helper)
                continue
            if helper.proc.stdout in ready:
                key, _ = self.queues[helper].popleft()
                self.done.append((key, helper.receive(timeout_s)))
                if helper.proc is None:  # died while answering
                    self._resend(helper)
                elif self.queues[helper]:
                    self.started[helper] = now  # it went on with the next page by now
            elif now >= deadlines[helper]:
                helper.stop()  # killed mid-page (or hung while starting)
                key, _ = self.queues[helper].popleft()
                self.done.append((key, ("timeout", None)))
                self._resend(helper)

    def _take(self) -> list[tuple[Any, tuple[str, Any]]]:
        done, self.done = self.done, []
        return done

    def submit(self, key: Any, html: str, timeout_s: float) -> list[tuple[Any, tuple[str, Any]]]:
        """Hand ``html`` to the least busy helper (waiting while every helper holds ``depth``
        pages); return the (key, outcome) of every page finished meanwhile."""
        message = _encode(html)
        with self.lock:
            while (helper := self._pick(len(message))) is None:
                self._poll(True, timeout_s)
            self._send(helper, key, message)
            self._poll(False, timeout_s)
            return self._take()

    def _pick(self, size: int) -> Helper | None:
        """An idle helper, else the least busy one with room whose pipe holds the page."""
        fits = [h for h in self.helpers if not self.queues[h]
                or (len(self.queues[h]) < self.depth and size <= h.capacity)]
        return min(fits, key=lambda h: len(self.queues[h])) if fits else None

    def drain(self, timeout_s: float) -> list[tuple[Any, tuple[str, Any]]]:
        with self.lock:
            while any(self.queues.values()):
                self._poll(True, timeout_s)
            return self._take()

    def run_many(self, pages: list[str], timeout_s: float) -> list[tuple[str, Any]]:
        outcome: dict[int, tuple[str, Any]] = {}
        for i, html in enumerate(pages):
            outcome.update(self.submit(i, html, timeout_s))
        outcome.update(self.drain(timeout_s))
        return [outcome[i] for i in range(len(pages))]


# Pools started ahead of time in this process (``prestart``), adopted by the first Extract
# stage set up here with the same engine; a stage in another process starts its own.
_PRESTARTED: dict[tuple[Engine, int], HelperPool] = {}


def prestart(engine: Engine, size: int) -> None:
    if (engine, size) not in _PRESTARTED:
        _PRESTARTED[(engine, size)] = HelperPool(engine, size)


def take_pool(engine: Engine, size: int) -> HelperPool:
    """A prestarted pool for this engine, or a new one."""
    return _PRESTARTED.pop((engine, size), None) or HelperPool(engine, size)
