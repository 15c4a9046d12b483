"""Deduplicating against earlier runs (``--dedup-against``): the dedup index and its rules (pure;
Beam wiring in pipeline/beam/dedup_index.py and dedup_transforms.py; docs/rules.md, Incremental dedup).

Every finished run leaves ``OUT/index/``: one Parquet row per kept document (after every stage)
holding what a later run needs to recognise it, and ``_manifest.json`` naming the parameters its
keys were made with. A later run feeds those rows into the same GroupByKey shuffles as its own
documents, as entries that always win and are never emitted:

- exact_dedup, url_dedup: ``(key, EarlierDoc(run, id))`` beside ``(key, Document)``; a group
  holding an earlier entry drops every new document in it (``split_with_earlier``);
- minhash_dedup: the earlier document's band keys enter the band groups with a *negative* node
  id (``earlier_node``) that encodes where its text is (run, documents shard, row). Negative ids
  sort first, so an earlier document is always its buckets' hub, never a leaf; edges between two
  earlier documents are dropped (their own run already decided them). An earlier node that is
  some edge's hub fetches its text by that locator (only candidates: shards are read per
  row group) to be verified like any hub, and its rank sorts before every new rank
  (``earlier_rank``): a component holding it keeps none of its new members.

Index size per kept document: 8 bytes per band key (63-bit keys do not compress: 3.6 KB with
450 bands, 112 B with 14), 16 B exact key, the normalised URL, the id and a 2-int locator; no
text or shingles (verification fetches the few candidates' text from documents/).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

STAGES = ("exact_dedup", "url_dedup", "minhash_dedup")  # the stages that deduplicate against earlier runs
FORMAT = "webrefine-dedup-index"
VERSION = 1
MANIFEST = "_manifest.json"  # "_": Parquet readers of the folder (pyarrow, Spark) skip it
INDEX_COLUMNS = ("id", "shard", "row", "text_key", "url_key", "bands")

# Locator bits inside a negative node id: run (8) | documents shard (24) | row in shard (30).
RUN_BITS, SHARD_BITS, ROW_BITS = 8, 24, 30
MAX_RUNS, MAX_SHARDS, MAX_ROWS = 1 << RUN_BITS, 1 << SHARD_BITS, 1 << ROW_BITS
EARLIER_FLAG = -1  # first element of an earlier document's rank: before every new rank (0 or 1)


@dataclass(frozen=True, order=True)
class EarlierDoc:
    """An earlier run's kept document in an exact/URL group: it always wins, is never emitted."""

    run: int  # position in --dedup-against
    id: str


def earlier_node(run: int, shard: int, row: int) -> int:
    """The negative 63-bit node id of an earlier document, its text's locator inside."""
    if not (0 <= run < MAX_RUNS and 0 <= shard < MAX_SHARDS and 0 <= row < MAX_ROWS):
        raise ValueError(f"earlier document locator out of range: run {run}, shard {shard}, row {row}")
    return -1 - ((run << (SHARD_BITS + ROW_BITS)) | (shard << ROW_BITS) | row)


def locate(node: int) -> tuple[int, int, int]:
    """(run, shard, row) of an ``earlier_node`` id."""
    v = -1 - node
    return v >> (SHARD_BITS + ROW_BITS), (v >> ROW_BITS) & (MAX_SHARDS - 1), v & (MAX_ROWS - 1)


def is_earlier_node(node: int) -> bool:
    return node < 0


def earlier_rank(run: int, doc_id: str) -> tuple[int, str, str]:
    """An earlier document's MinHash rank: smaller than any new document's (flag -1 < 0, 1);
    among earlier ones, the first run given wins, then the smallest id."""
    return (EARLIER_FLAG, f"{run:03d}", doc_id)


def is_earlier_rank(rank: tuple) -> bool:
    return rank[0] == EARLIER_FLAG


def rank_match(rank: tuple) -> tuple[int, str]:
    """(run, id) of an earlier rank."""
    return int(rank[1]), rank[2]


def split_with_earlier(values: Iterable[Any], full_key) -> tuple[EarlierDoc | None, Any, int, Iterator[Any]]:
    """One exact/URL group of Documents and EarlierDocs → (best earlier entry or None,
    survivor or None, number of new documents, the new documents to drop).

    With an earlier entry, every new document is dropped (the earlier run kept this key);
    otherwise the smallest ``full_key`` survives, as in ``select.split_group``. Streamed in two
    passes over a re-iterable group, never held in memory.
    """
    best_earlier, best_doc, best, size = None, None, None, 0
    for v in values:
        if isinstance(v, EarlierDoc):
            if best_earlier is None or v < best_earlier:
                best_earlier = v
            continue
        size += 1
        key = full_key(v)
        if best is None or key < best:
            best_doc, best = v, key

    def losers() -> Iterator[Any]:
        skipped = best_earlier is not None  # nothing survives a group an earlier run holds
        for v in values:
            if isinstance(v, EarlierDoc):
                continue
            if not skipped and full_key(v) == best:
                skipped = True
                continue
            yield v

    return best_earlier, (None if best_earlier is not None else best_doc), size, losers()


# --- compatibility (checked by the driver before anything runs) ---------------------------------

def key_params(exact, url, minhash) -> dict[str, Any]:
    """What each key of the index was made with (manifest "keys"). Exact and URL keys are
    always written (with the stage's parameters, or its defaults when the run had no such
    stage); band keys only when the run had minhash_dedup."""
    keys: dict[str, Any] = {
        "exact_dedup": {"unicode_form": exact.unicode_form, "collapse_whitespace": exact.collapse_whitespace,
                        "lowercase": exact.lowercase},
        "url_dedup": {"lowercase_path": url.lowercase_path},
        "minhash_dedup": None,
    }
    if minhash is not None:
        keys["minhash_dedup"] = {"fingerprint": minhash.fingerprint(), "bands": minhash.n_bands,
                                 "rows": minhash.n_rows, "ngram": minhash.ngram, "seed": minhash.seed,
                                 "normalize_digits": minhash.normalize_digits,
                                 "strip_accents": minhash.strip_accents}
    return keys


def incompatibility(manifest: Mapping[str, Any], wanted: Mapping[str, Any], stages: Iterable[str]) -> str | None:
    """Why an index cannot serve this run's dedup stages ``stages`` (None: it can).

    ``wanted`` is ``key_params`` of this run's config. Survivor rules and verification
    settings may differ: earlier documents always win and are verified like any hub.
    """
    if manifest.get("format") != FORMAT:
        return f"not a webrefine dedup index (format {manifest.get('format')!r})"
    if manifest.get("version") != VERSION:
        return f"index format version {manifest.get('version')!r}, this webrefine reads version {VERSION}"
    have = manifest.get("keys") or {}
    for stage in stages:
        if stage not in wanted:
            continue
        mine, theirs = wanted[stage], have.get(stage)
        if mine is None:
            continue
        if theirs is None:
            return f"{stage}: the earlier run had no {stage}, so its index holds no such keys"
        for param, value in mine.items():
            if param == "fingerprint":
                continue  # the named parameters say it better; the fingerprint catches the rest below
            if theirs.get(param) != value:
                return f"{stage}.{param} is {theirs.get(param)!r} there, {value!r} here"
        if mine.get("fingerprint") != theirs.get("fingerprint"):
            return (f"{stage}: signatures differ (fingerprint {theirs.get('fingerprint')!r} there, "
                    f"{mine.get('fingerprint')!r} here)")
    return None


# --- index rows (written from the final documents, pipeline/beam/dedup_index.py) -----------------

def index_row(doc_id: str, url: str, text: str, shard: int, row: int, exact, url_stage, hasher) -> dict[str, Any]:
    """One kept document's index row: its keys under this run's parameters, and where its text
    is (documents shard number, row in that shard) for a later run's verification."""
    if not (0 <= shard < MAX_SHARDS and 0 <= row < MAX_ROWS):
        raise ValueError(f"documents shard {shard} row {row}: beyond the index's locator range")
    bands = None
    if hasher is not None:
        hashes = hasher.shingle_hashes(text)
        if hashes.size:  # too short to sign: no bands (minhash_dedup passes such documents through)
            bands = hasher.band_key_array(hasher.signature(hashes)).astype("<i8").tobytes()
    return {"id": doc_id, "shard": shard, "row": row, "text_key": exact.key(text),
            "url_key": url_stage.key(url or "") or None, "bands": bands}
