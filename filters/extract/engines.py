"""Extraction engines behind one interface: ``load()`` once per process, then
``extract(html) -> text | None``. An engine is a frozen dataclass of its options, so a helper
process rebuilds it from ``(name, parameters)`` (``spec()`` and ``make_engine``)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


class Engine:
    """The interface every engine implements."""

    name: ClassVar[str] = ""

    def load(self) -> None:
        """Import the library (and prepare it) before the first page."""

    def extract(self, html: str) -> str | None:
        raise NotImplementedError

    def spec(self) -> tuple[str, dict[str, Any]]:
        """What rebuilds this engine elsewhere: ``make_engine(*spec)``."""
        return self.name, dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Trafilatura(Engine):
    """trafilatura's main-text extraction (the reference: RefinedWeb, FineWeb), text output.

    ``deduplicate`` is always off: its cache is process-global, so it would make a page's text
    depend on which pages the same process saw before."""

    name: ClassVar[str] = "trafilatura"
    favor_precision: bool = True
    favor_recall: bool = False
    include_comments: bool = False
    include_tables: bool = True
    fast: bool = False  # True skips trafilatura's fallback extractors: faster, lower recall
    speedup: bool = True  # the exact-output speed-ups (speedup.py)

    def options(self) -> dict[str, Any]:
        """trafilatura.extract's keyword arguments."""
        return {
            "favor_precision": self.favor_precision,
            "favor_recall": self.favor_recall,
            "include_comments": self.include_comments,
            "include_tables": self.include_tables,
            "fast": self.fast,
            "deduplicate": False,
            "output_format": "txt",
        }

    def load(self) -> None:
        import trafilatura  # noqa: F401

        if self.speedup:
            from webrefine.filters.extract.speedup import install

            install()

    def extract(self, html: str) -> str | None:
        import trafilatura

        return trafilatura.extract(html, **self.options())


@dataclass(frozen=True)
class Resiliparse(Engine):
    """Resiliparse's ``extract_plain_text(main_content=True)``: a C++ extractor, several times
    faster than trafilatura, whose text keeps more of what surrounds the main text."""

    name: ClassVar[str] = "resiliparse"
    include_comments: bool = False

    def options(self) -> dict[str, Any]:
        """extract_plain_text's keyword arguments."""
        return {
            "main_content": True,
            "preserve_formatting": True,
            "list_bullets": True,
            "alt_texts": False,  # trafilatura's text output has no alt texts either
            "links": False,
            "form_fields": False,
            "noscript": False,
            "comments": self.include_comments,
        }

    def load(self) -> None:
        import resiliparse.extract.html2text  # noqa: F401

    def extract(self, html: str) -> str | None:
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, **self.options())


ENGINES: dict[str, type[Engine]] = {"trafilatura": Trafilatura, "resiliparse": Resiliparse}


def make_engine(name: str, params: dict[str, Any] | None = None) -> Engine:
    return ENGINES[name](**(params or {}))
