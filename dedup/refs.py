"""What the dedup stages carry instead of documents (pure; Beam wiring in
pipeline/beam/dedup_transforms.py and pipeline/beam/resolve.py).

The texts stay in the work area (``OUT/_work/<file key>.jsonl.gz``, pipeline/workarea.py), where
the per-document phase committed them. The dedup stages shuffle one ``DocRef`` per document:
what they compare (date, id, URL, the exact-text key) and where the text is (file key, row), about
200 bytes instead of the document. The few steps that need a text (MinHash signing, shingles of
the candidates) read it back by file; a last pass per file (``resolve``) turns each reference's
fate, kept or dropped, back into the document. A document's text is never shuffled.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from webrefine.filters.document import Document


def digest(text: str) -> bytes:
    """16 bytes standing for a text where references must order equal ranks by content."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class DocRef:
    id: str
    date: str
    url: str
    file: str  # the work-area key of the input file that holds the document
    row: int  # its place among that file's documents
    offset: int  # where the gzip member holding that row starts in the file (pipeline/beam/per_file.py)
    tie: bytes  # digest(text): orders references that share (date, id, URL, file)
    text_key: bytes | None  # exact_dedup's key, when the run has that stage
    n_chars: int
    n_tokens: int  # -1: the run counts no tokens here
    signals: tuple[tuple[str, float], ...] = ()  # signals the dedup stages add (cluster sizes)

    def with_signal(self, name: str, value: float) -> "DocRef":
        return dataclasses.replace(self, signals=(*self.signals, (name, value)))


def ref_of(doc: Document, file: str, row: int, offset: int, text_key=None) -> DocRef:
    """``text_key``: exact_dedup's key function, or None without that stage."""
    return DocRef(doc.id, doc.date, doc.url, file, row, offset, digest(doc.text),
                  text_key(doc.text) if text_key is not None else None, len(doc.text), doc.n_tokens)


def with_signals(doc: Document, ref: DocRef) -> Document:
    """The document as the dedup stages left it: its signals plus theirs."""
    if not ref.signals:
        return doc
    return doc.replace(signals={**doc.signals, **dict(ref.signals)})


def chunk(ref: DocRef) -> tuple[str, int]:
    """The key of the part of the work area that holds the reference's text: (file, member offset)."""
    return ref.file, ref.offset


def fate_chunk(item: Any) -> tuple[str, int]:
    """``chunk`` of a kept DocRef or of a Rejection whose doc is a DocRef."""
    return chunk(item if isinstance(item, DocRef) else item.doc)
