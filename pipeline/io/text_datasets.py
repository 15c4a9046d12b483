"""Reading already-extracted text datasets (Parquet or JSONL) as Documents.

Columns ``id``, ``url``, ``text`` and optionally ``date`` (other names: ``read.text_column``
etc. in the config); extraction is skipped and every
later stage applies, so users re-filter and deduplicate existing datasets. A row without
usable text is a counted error (``read.bad_row``); a missing id becomes a content hash so
reruns give the same id. This pipeline's own output read back keeps its ``language``,
``language_score``, ``signals``, ``truncated`` and original ``source``.
"""
from __future__ import annotations

import datetime
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


# Columns this pipeline writes itself: a re-run on its own output keeps them.
CARRIED = ("language", "language_score", "signals", "source", "truncated")


def _signals(value: Any) -> dict[str, float]:
    """A signals column as written by this pipeline ({name, value} structs; older runs wrote
    a map, read as (key, value) pairs; JSONL may hold an object), or nothing."""
    pairs = value.items() if isinstance(value, dict) else value if isinstance(value, list) else ()
    out = {}
    for pair in pairs:
        try:
            key, number = (pair["name"], pair["value"]) if isinstance(pair, dict) else pair
            out[str(key)] = float(number)
        except (KeyError, TypeError, ValueError):
            return {}
    return out


def _date(value: Any) -> str:
    """ISO 8601 text, as WARC-Date is: this pipeline writes dates as timestamps."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.timezone.utc) if value.tzinfo else value
        return utc.replace(tzinfo=None).isoformat() + "Z"
    return str(value)


def row_to_document(row: dict[str, Any], source: str, columns: dict[str, str] | None = None) -> Document | None:
    col = columns or {name: name for name in COLUMNS}
    text = row.get(col["text"])
    if not isinstance(text, str):
        return None
    url = row.get(col["url"]) if isinstance(row.get(col["url"]), str) else ""
    doc_id = row.get(col["id"])
    if doc_id is None or doc_id == "":
        doc_id = "sha1:" + hashlib.sha1(f"{url}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
    date = row.get(col["date"])
    carried: dict[str, Any] = {}
    if isinstance(row.get("language"), str):
        carried["language"] = row["language"]
    if isinstance(row.get("language_score"), (int, float)):
        carried["language_score"] = float(row["language_score"])
    if row.get("signals"):
        carried["signals"] = _signals(row["signals"])
    if isinstance(row.get("truncated"), bool):
        carried["truncated"] = row["truncated"]
    if isinstance(row.get("source"), str) and row["source"]:
        source = row["source"]  # the original input file, not this dataset's
    return Document(id=str(doc_id), url=url, text=text, date=_date(date), source=source,
                    **carried)


def parquet_rows(open_file: Callable[[], BinaryIO], wanted: tuple[str, ...] = COLUMNS + CARRIED,
                 ) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file (the ``wanted`` columns it has), opened by ``open_file``."""
    with open_file() as fh:
        pf = pq.ParquetFile(fh)
        columns = [c for c in dict.fromkeys(wanted) if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=1024, columns=columns):
            yield from batch.to_pylist()


def jsonl_rows(open_file: Callable[[], BinaryIO]) -> Iterator[dict[str, Any] | None]:
    """The rows of a JSONL file (already decompressed by ``open_file``); None for a bad line."""
    with open_file() as fh:
        # readline, not iteration: the decompressing file object Beam returns for .gz
        # (CompressedFile) is not iterable.
        for line in iter(fh.readline, b""):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                yield None
                continue
            yield row if isinstance(row, dict) else None


def read_documents(rows: Iterator[dict[str, Any] | None], path: str, tally: Tally,
                   on_row: Callable[[], None] | None = None,
                   columns: dict[str, str] | None = None) -> Iterator[Document]:
    """Documents from the rows of one file; counts go to ``tally``, a damaged file is counted."""
    tally.count("input.files")
    try:
        for row in rows:
            tally.count("input.rows")
            if on_row is not None:
                on_row()
            doc = row_to_document(row, path, columns) if row is not None else None
            if doc is None:
                tally.count("errors." + ERR_ROW)
                tally.sample("errors." + ERR_ROW, f"{path}:{tally.counts['input.rows']}", {"file": path})
                continue
            yield doc
    except Exception as exc:  # noqa: BLE001 - a damaged file is counted, the run goes on
        tally.count("file_errors." + ERR_FILE)
        tally.sample("file_errors." + ERR_FILE, path, {"file": path, "detail": repr(exc)[:300]})
