"""Stage ``extract``: main-content text from HTML with trafilatura, time-boxed (SPEC §2.3).

trafilatura has no timeout in its Python API and some pages make it run for minutes
(SPEC P10), so by default it runs in a helper process that is killed and restarted when a
page exceeds ``timeout_s``: a counted drop (``extract.timeout``), never a hung worker.
A restart costs about a second (a new interpreter importing trafilatura); timeouts are rare.

Output is post-formatted as RefinedWeb does: at most two consecutive newlines, URLs
removed. ``deduplicate`` stays off: trafilatura's cache is process-global, which would
make a page's text depend on which pages the same worker saw before it (SPEC P9).
"""
from __future__ import annotations

import fcntl
import os
import pickle
import re
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from filters.base import Document, Stage, Verdict, drop, keep

_NEWLINES = re.compile(r"\n{3,}")
# URL removal (RefinedWeb/DCLM `url_removal_modifier`). DCLM matches bare domains against
# the 1,590 IANA TLDs; we remove scheme and www. URLs anywhere, bare domains only with the
# common TLDs below (a ccTLD list would also eat file names like "setup.py"), and IPv4s.
_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|tv|us|uk|de|fr|es|it|nl|pl|ru|"
    "br|au|ca|jp|cn|in|ch|at|be|se|no|dk|fi|cz|pt|ie|nz|eu|xyz|online|site|shop|blog|news"
)
_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'()\[\]]+[^\s<>\"'()\[\].,;:!?]"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")\b(?:/[^\s<>\"']*[^\s<>\"'.,;:!?)])?"
    r"|\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
    re.IGNORECASE,
)
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
# NUL and other C0/C1 control characters (not tab or newline) are never training text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def post_format(text: str) -> str:
    """Remove URLs and control characters, then collapse runs of 3+ newlines to 2."""
    text = _CONTROL.sub("", _URL.sub("", text))
    text = _SPACES_BEFORE_NEWLINE.sub("\n", text)
    return _NEWLINES.sub("\n\n", text).strip()


def _trafilatura(html: str, options: dict[str, Any]) -> str | None:
    import trafilatura

    return trafilatura.extract(html, **options)


def _write_msg(fh: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(struct.pack("<Q", len(data)) + data)
    fh.flush()


def _read_exact(fh: Any, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = fh.read(n - len(buf))
        if not chunk:
            raise EOFError("pipe closed")
        buf += chunk
    return bytes(buf)


def _read_msg(fh: Any) -> Any:
    (n,) = struct.unpack("<Q", _read_exact(fh, 8))
    return pickle.loads(_read_exact(fh, n))


def serve(options: dict[str, Any]) -> None:
    """Helper process main loop: HTML in on stdin, ("ok", text) or ("error", msg) out on stdout."""
    import trafilatura  # noqa: F401 - import before the first page, not during it

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    while True:
        try:
            html = _read_msg(stdin)
        except EOFError:
            return
        start = time.monotonic()
        try:
            reply = ("ok", _trafilatura(html, options))
        except BaseException as exc:  # noqa: BLE001 - any failure of the extractor is a drop
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        _write_msg(stdout, (*reply, time.monotonic() - start))


class _Sandbox:
    """One helper process (``python -c``, not a fork: the parent may run gRPC threads, and
    multiprocessing would re-import the worker's __main__) and the pipes to it; restarted
    after a timeout or a crash."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _start(self) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = f"import sys; sys.path.insert(0, {root!r}); from filters.extract import serve; serve({self.options!r})"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        try:  # a 1 MiB pipe takes a whole page at once: the worker does not wait on the write
            fcntl.fcntl(self.proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        except (AttributeError, OSError):
            pass

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            for fh in (self.proc.stdin, self.proc.stdout):
                fh.close()
        self.proc = None

    def send(self, html: str) -> bool:
        """Start (if needed) and hand one page to the helper; False if it died on the way.

        A page's time limit counts from here, so a helper that is still starting (after a
        timeout killed the last one) gets its import time on top: never a false timeout.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self._start()
        try:
            _write_msg(self.proc.stdin, html)
            return True
        except OSError:
            self.stop()
            return False

    def receive(self, timeout_s: float) -> tuple[str, Any]:
        """The helper's reply; a page whose own extraction took longer than ``timeout_s``
        is a timeout even if the reply was read in time, and one that finished in time is
        kept even if the reply was read late (the parent was busy with other helpers)."""
        try:
            status, result, seconds = _read_msg(self.proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError, ValueError) as exc:
            self.stop()
            return "error", f"extractor process died: {type(exc).__name__}"
        return ("timeout", None) if seconds > timeout_s else (status, result)


class _Pool:
    """``size`` helper processes extracting pages in parallel, each page time-boxed.

    Pages are submitted one by one and results collected as they come, so the helpers stay
    busy while the worker reads, identifies languages and filters in its own process:
    one worker (one Beam DoFn) uses several cores for the extractor.
    """

    def __init__(self, options: dict[str, Any], size: int) -> None:
        self.helpers = [_Sandbox(options) for _ in range(size)]
        self.busy: dict[_Sandbox, tuple[Any, float]] = {}  # helper -> (key, kill deadline)
        self.done: list[tuple[Any, tuple[str, Any]]] = []
        self.lock = threading.Lock()
        for helper in self.helpers:  # start together: each spends ~0.5 s importing trafilatura
            helper._start()

    def stop(self) -> None:
        for helper in self.helpers:
            helper.stop()
        self.busy.clear()

    def _poll(self, block: bool, timeout_s: float) -> None:
        """Collect finished pages; kill helpers past their deadline. ``block``: wait for one."""
        if not self.busy:
            return
        wait = max(0.0, min(d for _, d in self.busy.values()) - time.monotonic()) if block else 0.0
        ready, _, _ = select.select([h.proc.stdout for h in self.busy], [], [], wait)
        now = time.monotonic()
        for helper in list(self.busy):
            key, deadline = self.busy[helper]
            if helper.proc.stdout in ready:
                self.done.append((key, helper.receive(timeout_s)))
                del self.busy[helper]
            elif now >= deadline:
                helper.stop()  # killed mid-page; its next page restarts it
                self.done.append((key, ("timeout", None)))
                del self.busy[helper]

    def _take(self) -> list[tuple[Any, tuple[str, Any]]]:
        done, self.done = self.done, []
        return done

    def submit(self, key: Any, html: str, timeout_s: float) -> list[tuple[Any, tuple[str, Any]]]:
        """Hand ``html`` to an idle helper (waiting for one if all are busy); return the
        (key, outcome) of every page finished meanwhile."""
        with self.lock:
            while len(self.busy) == len(self.helpers):
                self._poll(True, timeout_s)
            helper = next(h for h in self.helpers if h not in self.busy)
            if helper.send(html):
                self.busy[helper] = (key, time.monotonic() + timeout_s)
            else:
                self.done.append((key, ("error", "extractor process died")))
            self._poll(False, timeout_s)
            return self._take()

    def drain(self, timeout_s: float) -> list[tuple[Any, tuple[str, Any]]]:
        with self.lock:
            while self.busy:
                self._poll(True, timeout_s)
            return self._take()

    def run_many(self, pages: list[str], timeout_s: float) -> list[tuple[str, Any]]:
        outcome: dict[int, tuple[str, Any]] = {}
        for i, html in enumerate(pages):
            outcome.update(self.submit(i, html, timeout_s))
        outcome.update(self.drain(timeout_s))
        return [outcome[i] for i in range(len(pages))]


@dataclass(frozen=True)
class Extract(Stage):
    """Rewriter: HTML → text. Drops: ``extract.empty``, ``extract.timeout``, ``extract.error``."""

    name: ClassVar[str] = "extract"
    reasons: ClassVar[tuple[str, ...]] = ("extract.empty", "extract.timeout", "extract.error")

    # trafilatura options, made explicit (SPEC §2.3; datatrove's choices).
    favor_precision: bool = True
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    fast: bool = False  # True skips trafilatura's fallback extractors: faster, lower recall
    # Hard limit per page. datatrove uses 1 s; slow hardware needs more (SPEC P10).
    timeout_s: float = 2.0
    # HTML beyond this many characters is cut before extraction (Common Crawl itself
    # truncates records at 1 MiB); the extractor's cost grows with page size.
    max_html_chars: int = 1_048_576
    # "process" (time-boxed helper processes) or "inline" (no timeout; for debugging).
    isolation: str = "process"
    # Helper processes per worker. With more than one, a worker extracts that many pages at
    # once (see pipeline/stages.py: the stage then receives pages in batches), so one
    # worker process can use several cores; 1 suits runners that start a worker per core.
    processes: int = 1
    remove_urls: bool = True

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_html_chars < 1024:
            raise ValueError("max_html_chars must be >= 1024")
        if self.isolation not in ("process", "inline"):
            raise ValueError("isolation must be 'process' or 'inline'")
        if not 1 <= self.processes <= 256:
            raise ValueError("processes must be between 1 and 256")

    @property
    def streaming(self) -> bool:
        """True when pages should go through ``submit``/``drain`` (several helpers)."""
        return self.isolation == "process" and self.processes > 1

    def options(self) -> dict[str, Any]:
        return {
            "favor_precision": self.favor_precision,
            "favor_recall": self.favor_recall,
            "include_comments": self.include_comments,
            "include_tables": self.include_tables,
            "fast": self.fast,
            "deduplicate": False,
            "output_format": "txt",
        }

    def setup(self) -> None:
        if self.isolation == "process" and getattr(self, "_pool", None) is None:
            self._set("_pool", _Pool(self.options(), self.processes))

    def teardown(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.stop()

    def __call__(self, doc: Document) -> Verdict:
        return self.call_batch([doc])[0]

    def submit(self, doc: Document) -> list[tuple[Document, Verdict]]:
        """Start extracting ``doc``; return the (document, verdict) of every page finished
        meanwhile (in completion order). ``drain`` returns the rest."""
        html = (doc.html or "")[: self.max_html_chars]
        if not html.strip():
            return [(doc, self._verdict(doc, ("empty", None)))]
        self.setup()
        pending = self.__dict__.setdefault("_pending", {})
        key = id(doc)
        pending[key] = doc
        return [(pending.pop(k), self._verdict(d, o)) for k, o in self._pool.submit(key, html, self.timeout_s)
                for d in [pending[k]]]

    def drain(self) -> list[tuple[Document, Verdict]]:
        pending = self.__dict__.get("_pending", {})
        if not pending:
            return []
        return [(pending.pop(k), self._verdict(d, o)) for k, o in self._pool.drain(self.timeout_s)
                for d in [pending[k]]]

    def call_batch(self, docs: list[Document]) -> list[Verdict]:
        """Verdicts for several pages, extracted in parallel by the helper processes."""
        pages = [(doc.html or "")[: self.max_html_chars] for doc in docs]
        todo = [i for i, html in enumerate(pages) if html.strip()]
        outcome: dict[int, tuple[str, Any]] = {}
        if self.isolation == "inline":
            for i in todo:
                try:
                    outcome[i] = ("ok", _trafilatura(pages[i], self.options()))
                except Exception as exc:  # noqa: BLE001
                    outcome[i] = ("error", f"{type(exc).__name__}: {exc}")
        elif todo:
            self.setup()
            outcome = dict(zip(todo, self._pool.run_many([pages[i] for i in todo], self.timeout_s)))
        return [self._verdict(doc, outcome.get(i, ("empty", None))) for i, doc in enumerate(docs)]

    def _verdict(self, doc: Document, outcome: tuple[str, Any]) -> Verdict:
        status, result = outcome
        html_chars = len(doc.html or "")
        if status == "empty":
            return drop("extract.empty", html_chars=float(html_chars))
        if status == "timeout":
            return drop("extract.timeout", html_chars=float(html_chars))
        if status == "error":
            return drop("extract.error", html_chars=float(html_chars))
        text = result or ""
        if self.remove_urls:
            text = post_format(text)
        else:
            text = _NEWLINES.sub("\n\n", _CONTROL.sub("", text)).strip()
        if not text:
            return drop("extract.empty", html_chars=float(html_chars))
        return keep(
            doc.replace(text=text, html=None),
            html_chars=float(html_chars),
            text_chars=float(len(text)),
        )
