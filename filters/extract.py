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

import os
import pickle
import re
import select
import struct
import subprocess
import sys
import threading
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
        try:
            reply = ("ok", _trafilatura(html, options))
        except BaseException as exc:  # noqa: BLE001 - any failure of the extractor is a drop
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        _write_msg(stdout, reply)


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

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            for fh in (self.proc.stdin, self.proc.stdout):
                fh.close()
        self.proc = None

    def run(self, html: str, timeout_s: float) -> tuple[str, Any]:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.stop()
                self._start()
            assert self.proc is not None
            try:
                _write_msg(self.proc.stdin, html)
                ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
                if ready:
                    return _read_msg(self.proc.stdout)
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                self.stop()
                return "error", f"extractor process died: {type(exc).__name__}"
            self.stop()
            return "timeout", None


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
    # "process" (time-boxed helper process) or "inline" (no timeout; for debugging).
    isolation: str = "process"
    remove_urls: bool = True

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_html_chars < 1024:
            raise ValueError("max_html_chars must be >= 1024")
        if self.isolation not in ("process", "inline"):
            raise ValueError("isolation must be 'process' or 'inline'")

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
        if self.isolation == "process" and getattr(self, "_sandbox", None) is None:
            self._set("_sandbox", _Sandbox(self.options()))

    def teardown(self) -> None:
        sandbox = getattr(self, "_sandbox", None)
        if sandbox is not None:
            sandbox.stop()

    def __call__(self, doc: Document) -> Verdict:
        html = doc.html or ""
        html_chars = len(html)
        if html_chars > self.max_html_chars:
            html = html[: self.max_html_chars]
        if not html.strip():
            return drop("extract.empty", html_chars=float(html_chars))
        if self.isolation == "inline":
            try:
                status, result = "ok", _trafilatura(html, self.options())
            except Exception as exc:  # noqa: BLE001
                status, result = "error", f"{type(exc).__name__}: {exc}"
        else:
            self.setup()
            status, result = self._sandbox.run(html, self.timeout_s)
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
