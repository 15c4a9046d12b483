"""Sinks: Parquet shards of documents and rejects, stats.json and config.yaml.

Everything goes through Beam's FileSystems, so gs:// and s3:// outputs work on remote
runners. Shards are written by ``shards.WriteParquetShards``: temporary files, then a
finalize that renames them, so a killed run leaves no partial shard under documents/.
"""
from __future__ import annotations

import datetime
import glob
import json
import os
import shutil
from typing import Any, Mapping

import pyarrow as pa
import yaml
from apache_beam.io.filesystems import FileSystems

from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.document import Document, Rejection
from webrefine.pipeline.beam.shards import TEMP_PREFIX

# A list of (name, value) structs, not an Arrow map: Hugging Face `datasets` has no type for
# maps and refuses the whole file; lists of structs load everywhere (datasets, DuckDB,
# Polars, pandas, Spark).
SIGNALS = pa.list_(pa.struct([("name", pa.string()), ("value", pa.float64())]))
DATE = pa.timestamp("us", tz="UTC")

DOCUMENT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("url", pa.string()),
    ("date", DATE),  # WARC-Date; null when unknown or not ISO 8601
    ("text", pa.string()),
    ("language", pa.string()),
    ("language_score", pa.float64()),
    ("source", pa.string()),
    ("truncated", pa.bool_()),
    ("n_chars", pa.int64()),
    ("n_tokens", pa.int64()),  # output.tokenizer's tokens (filters/tokenizer.py)
    ("signals", SIGNALS),
])

REJECT_SCHEMA = pa.schema([
    ("stage", pa.string()),
    ("reason", pa.string()),
    ("id", pa.string()),
    ("url", pa.string()),
    ("date", DATE),
    ("source", pa.string()),
    ("language", pa.string()),
    ("language_score", pa.float64()),
    ("text", pa.string()),  # cut to output.reject_text_chars
    ("signals", SIGNALS),  # the failing stage's signals, unprefixed
    ("earlier_signals", SIGNALS),  # signals of the stages the document passed
    # a dedup drop for an earlier run's kept document (--dedup-against): that run's path and document id
    ("matched_run", pa.string()),
    ("matched_id", pa.string()),
])


def signal_rows(signals: Mapping[str, float]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in signals.items()]


def timestamp(date: str) -> datetime.datetime | None:
    """An ISO 8601 date (WARC-Date: 2024-05-21T10:11:12Z) as an aware UTC datetime; None
    when empty or not ISO 8601 (a text dataset's free-form dates)."""
    if not date:
        return None
    try:
        value = datetime.datetime.fromisoformat(date)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def document_row(doc: Document, tokenizer: str = tokenizers.DEFAULT) -> dict[str, Any]:
    return {
        "id": doc.id, "url": doc.url, "date": timestamp(doc.date), "text": doc.text,
        "language": doc.language, "language_score": doc.language_score, "source": doc.source,
        "truncated": doc.truncated, "n_chars": len(doc.text),
        # set just before by CountOutputFn (Document.n_tokens)
        "n_tokens": tokenizers.get(tokenizer).counted(doc).n_tokens,
        "signals": signal_rows(doc.signals),
    }


def reject_row(rej: Rejection) -> dict[str, Any]:
    doc = rej.doc
    return {
        "stage": rej.stage, "reason": rej.reason, "id": doc.id, "url": doc.url, "date": timestamp(doc.date),
        "source": doc.source, "language": doc.language, "language_score": doc.language_score,
        "text": doc.text, "signals": signal_rows({k: float(v) for k, v in rej.signals.items()}),
        "earlier_signals": signal_rows(doc.signals),
        "matched_run": rej.matched[0] if rej.matched else None,
        "matched_id": rej.matched[1] if rej.matched else None,
    }


def remove_temp_leftovers(output: str) -> int:
    """Delete temporary shard folders (``.temp-*``; ``beam-temp-*`` from Beam's file sink in
    earlier releases) left in OUT's subfolders after a finished job.

    Shards are renamed out of their temporary folder, which is then deleted; a job that
    failed and was run again under the same output, or a runner that restarted the writing
    after a failure (Flink, after a lost TaskManager), can leave one behind. Only called once
    the job has finished, when every complete shard has been renamed.
    """
    removed = 0
    patterns = (TEMP_PREFIX + "*", "beam-temp-*")
    if "://" not in output:  # local folders: FileSystems.match lists files only
        for pattern in patterns:
            for folder in glob.glob(os.path.join(output, "*", pattern)):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
    for pattern in patterns:  # object stores: a "folder" is the objects under a prefix
        try:
            objects = [m.path for m in FileSystems.match([join(output, "*", pattern, "*")])[0].metadata_list]
        except Exception:  # noqa: BLE001 - nothing matched
            objects = []
        if objects:
            FileSystems.delete(objects)
            removed += len(objects)
    return removed


def write_text(path: str, text: str) -> None:
    """Write a UTF-8 file through FileSystems; .html is stored as text/html, .json as
    application/json, so object stores (gs://) serve them as such."""
    mime = {"html": "text/html", "json": "application/json", "yaml": "application/yaml"}.get(
        path.rsplit(".", 1)[-1], "text/plain")
    with FileSystems.create(path, mime_type=mime) as fh:
        fh.write(text.encode("utf-8"))


def read_text(path: str) -> str:
    """A UTF-8 file through FileSystems (local, gs://, s3://)."""
    with FileSystems.open(path) as fh:
        return fh.read().decode("utf-8")


def write_json(path: str, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def write_yaml(path: str, data: Any) -> None:
    write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def join(base: str, *parts: str) -> str:
    return FileSystems.join(base, *parts)
