"""The dedup index in Beam: written from the final documents, read back as an input by a later
run's dedup stages (``--dedup-against``; the rules are in dedup/earlier.py).

Writing: once documents/ is finalized, each shard is read back (id, url, text: its final text)
and turned into index rows with its shard number and row, then written like the documents
(temp files, atomic rename) to ``OUT/index/part-*.parquet``. The driver writes
``OUT/index/_manifest.json`` last, only for a run that finished and adds up
(``write_manifest``): an index without a manifest is refused.

Reading: each index shard is one element (``ReadEarlier``), read a record batch at a time and
emitted as exact keys, URL keys and packed band batches that join the new documents' own
shuffles: no worker holds the whole index, and there are no side inputs (README, Deduplication
at scale). ``FetchEarlier`` reads the text of the earlier documents that became MinHash
candidates, grouped by documents shard, reading only the row groups that hold them.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import re
import uuid
from typing import Any, Iterable, Sequence

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import TaggedOutput

from webrefine.dedup import earlier, groups, lsh
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.urls import UrlDedup
from webrefine.pipeline.beam.shards import WriteParquetShards
from webrefine.pipeline.beam.writers import join, read_text, write_json

INDEX_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("shard", pa.int32()),  # documents/part-<shard>-of-N.parquet
    ("row", pa.int32()),  # row in that shard
    ("text_key", pa.binary(16)),  # exact_dedup key
    ("url_key", pa.string()),  # url_dedup key (null without a URL)
    ("bands", pa.binary()),  # minhash band keys, little-endian int64 (null: unsigned or no minhash_dedup)
])
INDEX_DIR = "index"
_SHARD_RE = re.compile(r"-(\d+)-of-(\d+)\.parquet$")


def _open(path: str):
    """A Parquet file through FileSystems (seekable on gs:// and s3:// too), never decompressed by name."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def shard_number(path: str) -> int:
    m = _SHARD_RE.search(path)
    if not m:
        raise ValueError(f"not a documents shard name: {path}")
    return int(m.group(1))


def key_stages(stages: Iterable[Any]) -> tuple[ExactDedup, UrlDedup, MinhashDedup | None]:
    """The stages whose parameters make the index keys: the run's own, else the defaults
    (exact and URL keys are cheap and always written; band keys need minhash_dedup)."""
    by_type = {type(s): s for s in stages}
    return by_type.get(ExactDedup, ExactDedup()), by_type.get(UrlDedup, UrlDedup()), by_type.get(MinhashDedup)


# --- writing -------------------------------------------------------------------------------------

def _list_shards(_, pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


class _IndexShardFn(beam.DoFn):
    """A finalized documents shard → one index row per document, in row order."""

    def __init__(self, stages: Sequence[Any]) -> None:
        self.stages = tuple(stages)

    def setup(self) -> None:
        self.exact, self.url, minhash = key_stages(self.stages)
        self.hasher = minhash.hasher() if minhash is not None else None

    def process(self, path: str):
        shard = shard_number(path)
        with _open(path) as fh:
            pf = pq.ParquetFile(fh)
            row = 0
            for batch in pf.iter_batches(columns=["id", "url", "text"], batch_size=1024):
                for doc_id, url, text in zip(*(batch.column(i).to_pylist() for i in range(3))):
                    yield earlier.index_row(doc_id, url, text or "", shard, row, self.exact, self.url, self.hasher)
                    row += 1


class WriteDedupIndex(beam.PTransform):
    """The documents sink's finalized file names → OUT/index/part-*.parquet.

    The shards are listed once the writer finished (its output is one element, the shard
    count, even when a retried finalize renamed nothing), so every final shard is indexed once."""

    def __init__(self, output: str, stages: Sequence[Any], codec: str, shard_mb: int) -> None:
        super().__init__()
        self.output, self.stages, self.codec, self.shard_mb = output, tuple(stages), codec, shard_mb

    def expand(self, finalized):
        pattern = join(self.output, "documents", "part-*.parquet")
        return (finalized  # one element, the shard count, once every shard is in place (shards.py)
                | "ListShards" >> beam.FlatMap(_list_shards, pattern)
                | "SpreadShards" >> beam.Reshuffle()
                | "IndexRows" >> beam.ParDo(_IndexShardFn(self.stages))
                | "WriteIndex" >> WriteParquetShards(join(self.output, INDEX_DIR, "part"), INDEX_SCHEMA,
                                                     self.codec, self.shard_mb))


def write_manifest(output: str, cfg, stats: dict[str, Any], version: str) -> dict[str, Any]:
    """OUT/index/_manifest.json, written last: what the keys were made with, the files, sizes."""
    index_files = FileSystems.match([join(output, INDEX_DIR, "part-*.parquet")])[0].metadata_list
    doc_files = FileSystems.match([join(output, "documents", "part-*.parquet")])[0].metadata_list
    exact, url, minhash = key_stages(cfg.stages)
    manifest = {
        "format": earlier.FORMAT, "version": earlier.VERSION,
        "run_id": uuid.uuid4().hex[:12],
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "webrefine": version, "config_name": cfg.name, "config_hash": cfg.fingerprint(),
        "documents": stats["output"]["documents"],
        "keys": earlier.key_params(exact, url, minhash),
        "index_files": sorted(m.path.rsplit("/", 1)[-1] for m in index_files),
        "document_files": sorted(m.path.rsplit("/", 1)[-1] for m in doc_files),
        "bytes": {"index": sum(m.size_in_bytes for m in index_files),
                  "documents": sum(m.size_in_bytes for m in doc_files)},
    }
    write_json(join(output, INDEX_DIR, earlier.MANIFEST), manifest)
    return manifest


# --- reading (the driver checks, the graph reads) ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EarlierRun:
    """One --dedup-against run, resolved by the driver before the graph is built."""

    path: str  # as given
    run_id: str
    documents: int
    index_files: tuple[str, ...]  # full paths
    document_files: tuple[tuple[int, str], ...]  # (shard number, full path)

    def document_file(self, shard: int) -> str:
        return dict(self.document_files)[shard]


def load_earlier_runs(paths: Sequence[str], cfg, output: str) -> tuple[EarlierRun, ...]:
    """Each --dedup-against path's manifest, checked against this run's config; raises
    ValueError with the reason (the CLI turns it into exit 2 before anything runs)."""
    if len(paths) > earlier.MAX_RUNS:
        raise ValueError(f"--dedup-against: at most {earlier.MAX_RUNS} earlier runs, got {len(paths)}")
    exact, url, minhash = key_stages(cfg.stages)
    if paths and minhash is not None and minhash.scope != "run":
        raise ValueError(f"--dedup-against: minhash_dedup has scope: {minhash.scope}, and an earlier run's index "
                         "has no parts to match documents within; use scope: run to deduplicate against earlier runs")
    wanted = earlier.key_params(exact, url, minhash)
    stages = [s.name for s in cfg.stages if s.name in wanted]
    runs: list[EarlierRun] = []
    seen: dict[str, str] = {}
    for path in paths:
        if path.rstrip("/") == output.rstrip("/"):
            raise ValueError(f"--dedup-against {path}: that is this run's --output")
        manifest_path = join(path, INDEX_DIR, earlier.MANIFEST)
        try:
            exists = FileSystems.exists(manifest_path)
        except Exception as exc:  # noqa: BLE001 - bad scheme, no credentials
            raise ValueError(f"--dedup-against {path}: cannot read it ({type(exc).__name__}: {exc})") from None
        if not exists:
            what = ("holds no finished run's dedup index" if FileSystems.exists(path)
                    else "does not exist")
            raise ValueError(f"--dedup-against {path}: {what} (no {manifest_path}; only a finished run of this "
                             "webrefine writes one)")
        try:
            manifest = json.loads(read_text(manifest_path))
        except ValueError as exc:
            raise ValueError(f"--dedup-against {path}: {manifest_path} is not valid JSON ({exc})") from None
        why = earlier.incompatibility(manifest, wanted, stages)
        if why:
            raise ValueError(f"--dedup-against {path}: its index does not fit this config: {why}; deduplicate "
                             "against runs made with the same dedup parameters")
        if manifest["run_id"] in seen:
            raise ValueError(f"--dedup-against {path}: the same run as {seen[manifest['run_id']]}")
        seen[manifest["run_id"]] = path
        index_files = tuple(join(path, INDEX_DIR, f) for f in manifest["index_files"])
        doc_files = tuple((shard_number(f), join(path, "documents", f)) for f in manifest["document_files"])
        present = {m.path.rstrip("/").rsplit("/", 1)[-1] for pattern in ("index", "documents")
                   for m in FileSystems.match([join(path, pattern, "part-*.parquet")])[0].metadata_list}
        missing = [f for f in (*manifest["index_files"], *manifest["document_files"]) if f not in present]
        if missing:
            raise ValueError(f"--dedup-against {path}: {len(missing)} file(s) its manifest lists are missing "
                             f"(e.g. {missing[0]})")
        runs.append(EarlierRun(path, manifest["run_id"], int(manifest["documents"]), index_files, doc_files))
    return tuple(runs)


class _ReadIndexShardFn(beam.DoFn):
    """(run, index shard path) → exact keys, URL keys and packed band batches of its rows."""

    def __init__(self, want: frozenset, band_groups: int) -> None:
        self.want, self.band_groups = want, band_groups

    def process(self, element):
        run, path = element
        columns = ["id", "shard", "row"] + [c for c, stage in (("text_key", "exact_dedup"), ("url_key", "url_dedup"),
                                                                ("bands", "minhash_dedup")) if stage in self.want]
        with _open(path) as fh:
            for batch in pq.ParquetFile(fh).iter_batches(columns=columns, batch_size=4096):
                cols = {name: batch.column(name) for name in columns}
                ids = cols["id"].to_pylist()
                if "text_key" in cols:
                    for key, doc_id in zip(cols["text_key"].to_pylist(), ids):
                        yield TaggedOutput("exact_dedup", (key, earlier.EarlierDoc(run, doc_id)))
                if "url_key" in cols:
                    for key, doc_id in zip(cols["url_key"].to_pylist(), ids):
                        if key:
                            yield TaggedOutput("url_dedup", (key, earlier.EarlierDoc(run, doc_id)))
                if "bands" in cols:
                    yield from (TaggedOutput("minhash_dedup", b) for b in self._bands(run, cols))

    def _bands(self, run: int, cols) -> Iterable[tuple[int, bytes]]:
        keys, nodes = [], []
        for blob, shard, row in zip(cols["bands"].to_pylist(), cols["shard"].to_pylist(), cols["row"].to_pylist()):
            if blob:
                k = np.frombuffer(blob, dtype="<i8")
                keys.append(k)
                nodes.append(np.full(len(k), earlier.earlier_node(run, shard, row), dtype=np.int64))
        if keys:
            keys, nodes = np.concatenate(keys), np.concatenate(nodes)
            yield from lsh.split_by(np.stack([keys, nodes], axis=1), keys % self.band_groups)


class ReadEarlier(beam.PTransform):
    """Every earlier run's index shards → {stage name: PCollection of its earlier entries}."""

    def __init__(self, runs: Sequence[EarlierRun], stages: Sequence[Any]) -> None:
        super().__init__()
        self.runs, self.stages = tuple(runs), tuple(stages)

    def expand(self, p):
        want = frozenset(s.name for s in self.stages if s.name in earlier.STAGES)
        band_groups = next((s.band_groups for s in self.stages if isinstance(s, MinhashDedup)), 1)
        files = [(run, f) for run, r in enumerate(self.runs) for f in r.index_files]
        read = (p | "IndexFiles" >> beam.Create(files)
                | "SpreadIndexFiles" >> beam.Reshuffle()
                | "ReadIndex" >> beam.ParDo(_ReadIndexShardFn(want, band_groups)).with_outputs(*sorted(want)))
        return {name: read[name] for name in want}


class FetchEarlier(beam.DoFn):
    """((run, shard), [(row, node)]) → (node, (HEADER, earlier rank, shingles)): the hub records
    of the earlier documents that are MinHash candidates, read from their documents shard
    (only the row groups holding them; the text only when the stage verifies)."""

    def __init__(self, stage: MinhashDedup, runs: Sequence[EarlierRun]) -> None:
        self.stage, self.runs = stage, tuple(runs)

    def setup(self) -> None:
        self.hasher = self.stage.hasher()

    def process(self, kv):
        (run, shard), wanted = kv
        wanted = dict(wanted)  # row → node (a node is unique per row)
        columns = ["id", "text"] if self.stage.verify else ["id"]
        with _open(self.runs[run].document_file(shard)) as fh:
            pf = pq.ParquetFile(fh)
            start = 0
            for g in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(g).num_rows
                rows = sorted(r for r in wanted if start <= r < start + n)
                if rows:
                    table = pf.read_row_group(g, columns=columns)
                    ids = table.column("id").to_pylist()
                    texts = table.column("text").to_pylist() if self.stage.verify else None
                    for r in rows:
                        shingles = (self.hasher.shingle_hashes(texts[r - start] or "").tobytes()
                                    if texts is not None else None)
                        yield wanted[r], (groups.HEADER, earlier.earlier_rank(run, ids[r - start]), shingles)
                start += n
