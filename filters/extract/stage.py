"""Stage ``extract``: main-content text from HTML with trafilatura, time-boxed (docs/rules.md, Extraction).

trafilatura has no timeout in its Python API and some pages make it run for minutes
so by default it runs in a helper process that is killed and restarted when a
page exceeds ``timeout_s``: a counted drop (``extract.timeout``), never a hung worker.
A restart costs about a second (a new interpreter importing trafilatura); timeouts are rare.

Output is post-formatted as RefinedWeb does: at most two consecutive newlines, URLs
removed. ``deduplicate`` stays off: trafilatura's cache is process-global, which would
make a page's text depend on which pages the same worker saw before it.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from webrefine.filters.document import Document, Verdict, drop, keep
from webrefine.filters.stage import Stage
from webrefine.filters.extract.engines import Engine, Resiliparse, Trafilatura
from webrefine.filters.extract.pool import Prefetch, prestart, take_pool

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
# Every URL match lies inside one whitespace-free token and holds a "." or ":" followed by a
# non-space character ("://", "www.x", ".com", "1.2"). _URL is therefore run only on the tokens
# that hold one (this pattern matches such a token whole, in linear time: the lookbehind fails at
# once inside a token), which gives the same text as running it on the whole text, in about
# 40% of the time (most words have neither).
_URL_TOKEN = re.compile(r"(?<!\S)\S*?[.:]\S+")
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
# NUL and other C0/C1 control characters (not tab or newline) are never training text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_urls(text: str) -> str:
    """``_URL.sub("", text)``, run only on the tokens that can hold a URL (see _URL_TOKEN)."""
    return _URL_TOKEN.sub(lambda m: _URL.sub("", m.group()), text)


def post_format(text: str) -> str:
    """Remove URLs and control characters, then collapse runs of 3+ newlines to 2."""
    text = _CONTROL.sub("", strip_urls(text))
    text = _SPACES_BEFORE_NEWLINE.sub("\n", text)
    return _NEWLINES.sub("\n\n", text).strip()


@dataclass(frozen=True)
class Extract(Stage):
    """Rewriter: HTML → text. Drops: ``extract.empty``, ``extract.timeout``, ``extract.error``."""

    name: ClassVar[str] = "extract"
    input: ClassVar[str] = "html"
    reasons: ClassVar[tuple[str, ...]] = ("extract.empty", "extract.timeout", "extract.error")
    signal_names: ClassVar[tuple[str, ...]] = ("html_chars", "text_chars")
    report_histograms: ClassVar[tuple[str, ...]] = ("text_chars", "html_chars")

    # "trafilatura" (the reference) or "resiliparse": Resiliparse's main-content
    # heuristics, a C++ extractor, much faster, whose text differs (README: Extraction
    # engines, measured by bench/compare_extractors.py). The trafilatura options below do not
    # apply to it; include_comments does.
    engine: str = "trafilatura"
    # trafilatura options, made explicit (datatrove's choices).
    favor_precision: bool = True
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    fast: bool = False  # True skips trafilatura's fallback extractors: faster, lower recall
    # Hard limit per page. datatrove uses 1 s; slow hardware needs more.
    timeout_s: float = 2.0
    # HTML beyond this many characters is cut before extraction (Common Crawl itself
    # truncates records at 1 MiB); the extractor's cost grows with page size.
    max_html_chars: int = 1_048_576
    # "process" (time-boxed helper processes) or "inline" (no timeout; for debugging).
    isolation: str = "process"
    # Helper processes per worker. With more than one, a worker extracts that many pages at
    # once (see pipeline/beam/dofns.py: the stage then receives pages in batches), so one
    # worker process can use several cores; 1 suits runners that start a worker per core.
    # 0 = auto: the command line sets it for the run (``pipeline/cli.py``:
    # ``resolve_auto_processes``); left at 0 (a stage used on its own) it means 1.
    processes: int = 0
    remove_urls: bool = True
    # Exact-output speed-ups of trafilatura (filters/extract/speedup.py: XPath rewrites, a C class
    # lookup, control characters): same text, less extraction time (README; bench/bench_extract.py).
    # False: trafilatura untouched.
    speedup: bool = True

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_html_chars < 1024:
            raise ValueError("max_html_chars must be >= 1024")
        if self.engine not in ("trafilatura", "resiliparse"):
            raise ValueError("engine must be 'trafilatura' or 'resiliparse'")
        if self.isolation not in ("process", "inline"):
            raise ValueError("isolation must be 'process' or 'inline'")
        if not 0 <= self.processes <= 256:
            raise ValueError("processes must be between 0 (auto) and 256")

    @property
    def helpers(self) -> int:
        return max(1, self.processes)

    @property
    def streaming(self) -> bool:
        """True when pages should go through ``submit``/``drain`` (several helpers)."""
        return self.isolation == "process" and self.helpers > 1

    def make_engine(self) -> Engine:
        """The engine these parameters select."""
        if self.engine == "resiliparse":
            return Resiliparse(include_comments=self.include_comments)
        return Trafilatura(favor_precision=self.favor_precision, favor_recall=self.favor_recall,
                           include_comments=self.include_comments, include_tables=self.include_tables,
                           fast=self.fast, speedup=self.speedup)

    def with_processes(self, cores: int) -> "Extract":
        """``processes: 0`` (auto) resolved for a run: ``cores`` helpers; otherwise itself."""
        return dataclasses.replace(self, processes=cores) if self.processes == 0 else self

    def prestart(self, warc_paths: Sequence[str] = (), read: dict[str, Any] | None = None) -> None:
        """Start the helper processes now, in this process, for the first setup() here to adopt
        (while the caller does other work: importing Beam, building the graph). Given the run's
        WARC files (and its ``read`` settings, ``ReadConfig``'s fields), they extract pages of
        them meanwhile (``pool.Prefetch``), which the run's pages then find done."""
        if self.isolation == "process":
            fetch = None
            if warc_paths:
                try:
                    fetch = Prefetch(list(warc_paths), dict(read or {}), self.max_html_chars)
                except OSError:  # no temporary directory: the pages are extracted when sent
                    fetch = None
            prestart(self.make_engine(), self.helpers, fetch)

    def setup(self) -> None:
        if self.isolation == "process" and getattr(self, "_pool", None) is None:
            self._set("_pool", take_pool(self.make_engine(), self.helpers))

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
            engine = self.make_engine()
            engine.load()
            for i in todo:
                try:
                    outcome[i] = ("ok", engine.extract(pages[i]))
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
