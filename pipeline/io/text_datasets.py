"""Reading already-extracted text datasets (Parquet or JSONL) as Documents.

Columns ``id``, ``url``, ``text`` and optionally ``date``; extraction is skipped and every
later stage applies, so users re-filter and deduplicate existing datasets. A row without
usable text is a counted error (``read.bad_row``); a missing id becomes a content hash so
reruns give the same id.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, BinaryIO, Callable, Iterator

import pyarrow.parquet as pq

from webrefine.filters.document import Document
from webrefine.pipeline.stats.tally import Tally

FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".jsonl.gz": "jsonl",
           ".json.gz": "jsonl", ".warc": "warc", ".warc.gz": "warc", ".arc.gz": "warc"}
ERR_ROW = "read.bad_row"
ERR_FILE = "read.unreadable_file"
COLUMNS = ("id", "url", "text", "date")


def input_format(path: str) -> str | None:
    lower = path.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if lower.endswith(ext):
            return FORMATS[ext]
    return None


def row_to_document(row: dict[str, Any], source: str) -> Document | None:
    text = row.get("text")
    if not isinstance(text, str):
        return None
    url = row.get("url") if isinstance(row.get("url"), str) else ""
    doc_id = row.get("id")
    if doc_id is None or doc_id == "":
        doc_id = "sha1:" + hashlib.sha1(f"{url}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
    date = row.get("date")
    return Document(id=str(doc_id), url=url, text=text, date="" if date is None else str(date), source=source)


def parquet_rows(open_file: Callable[[], BinaryIO]) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file (the columns we read), opened by ``open_file``."""
    with open_file() as fh:
        pf = pq.ParquetFile(fh)
        columns = [c for c in COLUMNS if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=1024, columns=columns):
            yield from batch.to_pylist()


def jsonl_rows(open_file: Callable[[], BinaryIO]) -> Iterator[dict[str, Any] | None]:
    """The rows of a JSONL file (already decompressed by ``open_file``); None for a bad line."""
    with open_file() as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                yield None
                continue
            yield row if isinstance(row, dict) else None


def read_documents(rows: Iterator[dict[str, Any] | None], path: str, tally: Tally,
                   on_row: Callable[[], None] | None = None) -> Iterator[Document]:
    """Documents from the rows of one file; counts go to ``tally``, a damaged file is counted."""
    tally.count("input.files")
    try:
        for row in rows:
            tally.count("input.rows")
            if on_row is not None:
                on_row()
            doc = row_to_document(row, path) if row is not None else None
            if doc is None:
                tally.count("errors." + ERR_ROW)
                tally.sample("errors." + ERR_ROW, f"{path}:{tally.counts['input.rows']}", {"file": path})
                continue
            yield doc
    except Exception as exc:  # noqa: BLE001 - a damaged file is counted, the run goes on
        tally.count("file_errors." + ERR_FILE)
        tally.sample("file_errors." + ERR_FILE, path, {"file": path, "detail": repr(exc)[:300]})
