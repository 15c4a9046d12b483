"""Rows → ``<prefix>-SSSSS-of-NNNNN.parquet`` shards, with no side input anywhere.

Beam's own file sink (``iobase.Write``) hands its set-up and its list of written files to
later steps as side inputs. On Beam's local multi-process runner, steps that wait for a side
input lost part of their main input, intermittently (README, Deduplication at scale: 3 of 6
runs of ``bench/beam_side_input_loss.py`` on 16 cores, none of 7 without side inputs); the
document writer was such a step. This writer passes everything as main input:

1. ``WriteFiles``: each bundle writes its rows into files of its own under a temporary folder
   beside the shards (a new file once ``max_bytes`` were written to the current one), and
   emits their paths when the bundle ends. A retried bundle writes new files; only the
   paths of the attempt the runner keeps go on.
2. ``Finalize``: the paths, combined into one list (``CombineAll``), are renamed to their final names in a
   sorted order, and the temporary folder (with any retried attempt's files) is deleted. An
   empty input still gives one shard with the schema, so readers find a table.

With ``num_shards`` > 0, rows are first spread over that many keys and each key's rows go to
one file (rejects/ uses 1).
"""
from __future__ import annotations

import uuid
import zlib
from typing import Any, Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from webrefine.pipeline.beam.combine_all import CombineAll

TEMP_PREFIX = ".temp-"  # the temporary folder's name starts with this (writers.remove_temp_leftovers)
ROWS_PER_GROUP = 1000


class _CountingFile:
    """A write-only file that counts bytes, so a file can be closed at a size."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.bytes_written = raw, 0

    def write(self, data: bytes) -> int:
        self.bytes_written += len(data)
        self.raw.write(data)
        return len(data)

    def tell(self) -> int:
        return self.bytes_written

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _row_size(row: dict) -> int:
    return sum(len(v) for v in row.values() if isinstance(v, str)) + 64


class ParquetFiles:
    """Rows written as Parquet files in ``folder``: row groups of at most ``ROWS_PER_GROUP`` rows
    or about ``row_group_bytes``; a new file once ``max_bytes`` (compressed) were written."""

    def __init__(self, folder: str, schema: pa.Schema, codec: str, max_bytes: int, row_group_bytes: int) -> None:
        self.folder, self.schema, self.codec = folder, schema, codec
        self.max_bytes, self.row_group_bytes = max_bytes, row_group_bytes
        self.rows: list[dict] = []
        self.size = 0
        self.file = self.writer = None
        self.paths: list[str] = []

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.size += _row_size(row)
        if len(self.rows) >= ROWS_PER_GROUP or self.size >= self.row_group_bytes:
            self._write_group()

    def _write_group(self) -> None:
        if not self.rows:
            return
        if self.writer is None:
            path = FileSystems.join(self.folder, f"{uuid.uuid4().hex}.parquet")
            self.file = _CountingFile(FileSystems.create(path, "application/x-parquet"))
            self.writer = pq.ParquetWriter(self.file, self.schema, compression=self.codec)
            self.paths.append(path)
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows, self.size = [], 0
        if self.file.bytes_written >= self.max_bytes:
            self._close_file()

    def _close_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.file.close()
        self.file = self.writer = None

    def close(self) -> list[str]:
        """Write what is left; the paths of every file written."""
        self._write_group()
        self._close_file()
        return self.paths


class _WriteBundleFiles(beam.DoFn):
    def __init__(self, folder: str, schema: pa.Schema, codec: str, max_bytes: int, row_group_bytes: int) -> None:
        self.args = (folder, schema, codec, max_bytes, row_group_bytes)

    def start_bundle(self) -> None:
        self.files = ParquetFiles(*self.args)

    def process(self, row: dict) -> Iterable[str]:
        self.files.add(row)
        return ()

    def finish_bundle(self):
        for path in self.files.close():
            yield GlobalWindows.windowed_value(path)


def _write_key_file(kv, folder, schema, codec, row_group_bytes) -> list[str]:
    files = ParquetFiles(folder, schema, codec, 1 << 62, row_group_bytes)  # one file per key
    for row in kv[1]:
        files.add(row)
    return files.close()


def finalize(paths: list[str], prefix: str, folder: str, schema: pa.Schema, codec: str) -> int:
    """Rename the written files to ``<prefix>-SSSSS-of-NNNNN.parquet``, delete ``folder``;
    the number of shards. Run again after a failure, it finishes what is left."""
    if paths and not any(FileSystems.exists(p) for p in paths):
        return len(paths)  # a retried finalize: every file was renamed by the first
    paths = sorted(paths)
    if not paths:  # no rows: one empty shard with the schema
        empty = FileSystems.join(folder, "empty.parquet")
        with FileSystems.create(empty, "application/x-parquet") as fh:
            pq.write_table(schema.empty_table(), fh, compression=codec)
        paths = [empty]
    n = len(paths)
    FileSystems.rename(paths, [f"{prefix}-{i:05d}-of-{n:05d}.parquet" for i in range(n)])
    remove_folder(folder)
    return n


def remove_folder(folder: str) -> None:
    """Delete a folder and what is in it (on object stores: every object under the prefix)."""
    target = folder.rstrip("/") + "/" if "://" in folder else folder
    try:
        FileSystems.delete([target])
    except Exception:  # noqa: BLE001 - already gone
        pass


def _spread(row: dict, n: int) -> tuple[int, dict]:
    return zlib.crc32(repr(sorted(row.items())).encode("utf-8", "surrogatepass")) % n, row


class WriteParquetShards(beam.PTransform):
    """Rows → ``<prefix>-SSSSS-of-NNNNN.parquet``, about ``shard_mb`` MB (compressed) each, or
    exactly ``num_shards`` files; the PCollection of the shard count (one element)."""

    def __init__(self, prefix: str, schema: pa.Schema, codec: str, shard_mb: int, num_shards: int = 0) -> None:
        super().__init__()
        self.prefix, self.schema, self.codec = prefix, schema, codec
        self.shard_mb, self.num_shards = shard_mb, num_shards
        # one temporary folder per job, beside the shards
        self.folder = FileSystems.join(prefix.rsplit("/", 1)[0], f"{TEMP_PREFIX}{uuid.uuid4().hex}")

    def expand(self, rows):
        # Row groups of ~1/8 of a shard (in memory, before compression) bound writer memory.
        row_group = max(1, self.shard_mb // 8) * 1024 * 1024
        if self.num_shards > 0:
            paths = (rows
                     | "Spread" >> beam.Map(_spread, self.num_shards)
                     | "GroupByShard" >> beam.GroupByKey()
                     | "WriteFiles" >> beam.FlatMap(_write_key_file, self.folder, self.schema, self.codec, row_group))
        else:
            paths = rows | "WriteFiles" >> beam.ParDo(_WriteBundleFiles(
                self.folder, self.schema, self.codec, self.shard_mb * 1024 * 1024, row_group))
        return (paths
                | "AllPaths" >> CombineAll(beam.combiners.ToListCombineFn(), None)
                | "Finalize" >> beam.Map(lambda found, *args: finalize([p for p in found if p], *args),
                                         self.prefix, self.folder, self.schema, self.codec))
