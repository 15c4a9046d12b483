"""Time-boxed helper processes for the extraction engines (used by the extract stage).

trafilatura has no timeout in its Python API (docs/rules.md, Extraction), so pages go to helper processes
that are killed and restarted when a page takes too long. A helper is a new interpreter
(``python -c``), not a fork: the parent may run gRPC threads, and multiprocessing would
re-import the worker's ``__main__``. Messages are length-prefixed pickles over pipes.
"""
from __future__ import annotations

import atexit
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


def _read_raw(fd: int, deadline: float | None = None) -> bytes:
    """One message's pickle, not yet loaded."""
    (n,) = struct.unpack("<Q", _read_exact(fd, 8, deadline))
    return _read_exact(fd, n, deadline)


def _read_msg(fd: int, deadline: float | None = None) -> Any:
    return pickle.loads(_read_raw(fd, deadline))


def _extract(engine: Engine, html: str) -> tuple[str, Any, float]:
    """(status, text or message, seconds) of one page."""
    start = time.monotonic()
    try:
        reply = ("ok", engine.extract(html))
    except BaseException as exc:  # noqa: BLE001 - any failure of the extractor is a drop
        reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
    return (*reply, time.monotonic() - start)


def serve(name: str, params: dict[str, Any], prefetch: dict[str, Any] | None = None) -> None:
    """Helper process main loop: HTML in on stdin, ("ok", text) or ("error", msg) out on stdout.
    With ``prefetch`` (``Prefetch.spec``) it answers a page from what was extracted ahead, and
    the first helper extracts pages ahead whenever no page is waiting (``Prefetch``)."""
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
    store = prefetch["dir"] if prefetch is not None else None
    ahead = Prefetch.pages(engine, prefetch) if prefetch is not None and prefetch["ahead"] else None
    misses = 0
    while True:
        if ahead is not None and not select.select([stdin], [], [], 0)[0]:
            if next(ahead, None) is None:  # one page extracted ahead, or none left to do
                ahead = None
            continue
        try:
            data = _read_raw(stdin)
        except EOFError:  # the worker is done, or was killed (its own cleanup never ran)
            if store is not None:
                import shutil

                shutil.rmtree(store, ignore_errors=True)
            return
        reply = Prefetch.take(store, data) if store is not None else None
        if reply is None:
            if ahead is not None:
                Prefetch.mark(store, data)  # for the prefetching to skip
                misses += 1
                if misses == Prefetch.MISSES:  # the worker has caught up: its pages come first
                    ahead = None
            reply = _extract(engine, pickle.loads(data))
        # a helper that prefetched says whether it still does (``Helper.deadline``)
        _write_msg(stdout, reply if prefetch is None or not prefetch["ahead"] else (*reply, ahead is not None))


class Prefetch:
    """Pages extracted before the worker asks for them. While the worker's process imports Beam
    and builds the graph (~2-3 s, one core busy), the helpers, ready after ~1 s, would wait for
    their first page. Instead the first helper reads the run's WARC files itself and, whenever
    no page of the worker is waiting for it, extracts the next page no helper has done, storing
    the outcome under a hash (sha256) of the page's message (``_encode``'s pickle of the HTML
    string, as the worker sends it) in a directory the helpers share; a page the worker sends
    to any helper is answered from there. The key is the page itself, so an answer is the one
    the page gets when extracted on request (extraction depends on the page only:
    trafilatura's deduplicate is off), however the worker's reading differs; a page it never
    sends only cost time. One helper only: with two, three processes share two cores while the
    worker imports Beam, and the import (the worker's start) takes longer. It stops after
    ``MISSES`` pages of the worker that it had not done (the worker has caught up; from then on,
    extracting ahead while idle would take a core from the worker, whose pages come first), where
    it finds ``CAUGHT_UP`` pages in a row already done, or after ``MAX_PAGES``: an answer is
    removed once taken, so the directory holds at most that many."""

    CAUGHT_UP = 8
    MISSES = 3
    MAX_PAGES = 1000

    def __init__(self, paths: list[str], read: dict[str, Any], max_html_chars: int) -> None:
        import tempfile

        self.paths, self.read, self.max_html_chars = paths, read, max_html_chars
        self.dir = tempfile.mkdtemp(prefix="webrefine-prefetch-")
        atexit.register(self.remove)  # also where the pool is never adopted or stopped

    def spec(self, helper: int) -> dict[str, Any]:
        """What helper number ``helper`` is started with (``serve``): the first extracts ahead."""
        return {"paths": self.paths, "read": self.read, "max_html_chars": self.max_html_chars,
                "dir": self.dir, "ahead": helper == 0}

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def key(data: bytes) -> str:
        import hashlib

        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def take(store: str, data: bytes) -> tuple[str, Any, float] | None:
        """The stored answer to the page whose message is ``data`` (removed), or None."""
        path = os.path.join(store, Prefetch.key(data))
        try:
            with open(path, "rb") as fh:
                reply = pickle.load(fh)
            os.unlink(path)
            return reply
        except (OSError, pickle.UnpicklingError, EOFError):  # none, or a mark (empty)
            return None

    @staticmethod
    def mark(store: str, data: bytes) -> None:
        """Mark the page as being extracted on request, for the prefetching helpers to skip."""
        try:
            open(os.path.join(store, Prefetch.key(data)), "ab").close()
        except OSError:
            pass

    @staticmethod
    def store(store: str, data: bytes, reply: tuple[str, Any, float]) -> None:
        target = os.path.join(store, Prefetch.key(data))
        try:
            with open(f"{target}.{os.getpid()}", "wb") as fh:
                pickle.dump(reply, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(f"{target}.{os.getpid()}", target)  # whole, for the other helpers
        except OSError:
            pass  # only time is lost

    @staticmethod
    def pages(engine: Engine, spec: dict[str, Any]):
        """Extract the pages ahead, one page per step."""
        try:
            from webrefine.pipeline.config import ReadConfig
            from webrefine.pipeline.io.warc import read_warc
            from webrefine.pipeline.stats.tally import Tally

            cfg, done_in_a_row, extracted = ReadConfig(**spec["read"]), 0, 0
            for path in spec["paths"]:
                for doc in read_warc(lambda path=path: open(path, "rb"), path, cfg, Tally()):
                    html = (doc.html or "")[: spec["max_html_chars"]]
                    if not html.strip():
                        continue
                    data = pickle.dumps(html, protocol=pickle.HIGHEST_PROTOCOL)
                    if os.path.exists(os.path.join(spec["dir"], Prefetch.key(data))):
                        done_in_a_row += 1
                        if done_in_a_row >= Prefetch.CAUGHT_UP:
                            return
                        continue
                    if extracted == Prefetch.MAX_PAGES:
                        return
                    done_in_a_row, extracted = 0, extracted + 1
                    Prefetch.store(spec["dir"], data, _extract(engine, html))
                    yield True
        except Exception:  # noqa: BLE001 - prefetching only saves time: the pages are extracted when asked
            return


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

    def __init__(self, engine: Engine, prefetch: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.prefetch = prefetch  # for its first start only (Prefetch.spec)
        self.proc: subprocess.Popen | None = None
        self.capacity = 65536  # bytes its input pipe holds
        self.ready = False  # its READY message was read
        self.prefetches = False  # this process extracts pages ahead (Prefetch.spec's "ahead")
        self.started_at = 0.0  # when the process was started (monotonic)

    def _start(self) -> None:
        # The helper imports the installed package, like any process on the worker.
        name, params = self.engine.spec()
        # A Ctrl-C is the parent's to handle (it stops the helpers). The helper runs in a session
        # of its own, so the terminal's SIGINT never reaches it: ignoring SIGINT in its code alone
        # left a window, the interpreter's start-up, where a Ctrl-C printed the traceback of an
        # interrupted import (setsid happens in the child before exec, safe with the parent's threads).
        code = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                f"from webrefine.filters.extract.pool import serve; serve({name!r}, {params!r}, {self.prefetch!r})")
        # extracting ahead makes pages wait (``deadline``); a restarted helper only answers pages
        self.prefetches, self.prefetch = self.prefetch is not None and self.prefetch["ahead"], None
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            start_new_session=True,
        )
        self.capacity = _grow_pipe(self.proc.stdin.fileno())
        self.ready, self.started_at = False, time.monotonic()

    def kill(self) -> None:
        """Signal the helper to end now (``stop`` then waits for it)."""
        if self.proc is not None:
            self.proc.kill()

    def stop(self) -> None:
        if self.proc is not None:
            self.kill()
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
        ``START_LIMIT_S`` from its start. A helper that prefetches may be extracting a page
        ahead when a page arrives, which starts once that one is done: both within ``timeout_s``
        each, or the page ahead was too long (``HelperPool._poll`` then sends the pages again, to
        a new helper that does not prefetch) until it says it stopped. Whether a page is a timeout
        is decided by its own extraction time (``receive``), so the later deadline changes no outcome."""
        if not self.ready:
            return self.started_at + START_LIMIT_S
        return since + (2 * timeout_s if self.prefetches else timeout_s)

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
            status, result, seconds, *ahead = _read_msg(self.proc.stdout.fileno(), time.monotonic() + REPLY_GRACE_S)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError) as exc:
            self.stop()
            return "error", f"extractor process died: {type(exc).__name__}"
        if ahead and not ahead[0]:
            self.prefetches = False  # it stopped extracting ahead: its pages no longer wait
        return ("timeout", None) if seconds > timeout_s else (status, result)


class HelperPool:
    """``size`` helper processes extracting pages in parallel, each page time-boxed.

    Pages are submitted one by one and results collected as they come, so the helpers stay
    busy while the worker reads, identifies languages and filters in its own process:
    one worker (one Beam DoFn) uses several cores for the extractor. Each helper holds up
    to ``depth`` pages (one in progress, the rest waiting in its pipe), so it starts its
    next page as soon as it finishes one instead of waiting for the worker to come back.
    Four, not two: the worker hands on 16 extracted documents at a time (language ID and
    the filters, ``pipeline/document_phase.py``), and with one page waiting per helper both
    helpers often ran dry before it came back (README, Throughput against datatrove).
    A page only waits behind others if it fits in the pipe beside them: the worker's write
    then never blocks on a helper that is itself blocked writing a reply.
    """

    def __init__(self, engine: Engine, size: int, depth: int = 4, prefetch: Prefetch | None = None) -> None:
        self.prefetch = prefetch
        self.helpers = [Helper(engine, prefetch.spec(i) if prefetch else None) for i in range(size)]
        self.depth = depth
        # pages sent to each helper and not answered yet, oldest (the one in progress) first
        self.queues: dict[Helper, deque[tuple[Any, bytes]]] = {h: deque() for h in self.helpers}
        self.started: dict[Helper, float] = {}  # when the helper's oldest page started (about)
        self.done: list[tuple[Any, tuple[str, Any]]] = []
        self.lock = threading.Lock()
        for helper in self.helpers:  # start together: each spends a while importing trafilatura
            helper._start()

    def stop(self) -> None:
        for helper in self.helpers:  # all end at once: each takes a while to free its memory
            helper.kill()
        for helper in self.helpers:
            helper.stop()
            self.queues[helper].clear()
        if self.prefetch is not None:
            self.prefetch.remove()

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
            elif now >= deadlines[helper] and helper.prefetches:
                helper.stop()  # a page ahead may have taken the time: send the pages again,
                self._resend(helper)  # to a new helper that does not prefetch, which times them
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
        """An idle helper, else the least busy one with room whose pipe holds the page beside
        the pages it was sent (the one in progress counted too: it may not be read yet)."""
        fits = [h for h in self.helpers if not self.queues[h]
                or (len(self.queues[h]) < self.depth
                    and size + sum(len(m) for _, m in self.queues[h]) <= h.capacity)]
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


def prestart(engine: Engine, size: int, prefetch: Prefetch | None = None) -> None:
    if (engine, size) not in _PRESTARTED:
        _PRESTARTED[(engine, size)] = HelperPool(engine, size, prefetch=prefetch)


def take_pool(engine: Engine, size: int) -> HelperPool:
    """A prestarted pool for this engine, or a new one."""
    return _PRESTARTED.pop((engine, size), None) or HelperPool(engine, size)
