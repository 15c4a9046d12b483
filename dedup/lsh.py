"""LSH buckets in numpy batches, and the compact node ids of minhash_dedup (pure; Beam wiring in
pipeline/beam/dedup_transforms.py).

Why batches: a signed document has one band key per band (450 with the refinedweb preset).
Shuffled as one element each, a local runner holds ~150 B of Python objects per entry
(~70 KB per document). Here a worker packs the (band key, node id) pairs of many documents
into one int64 array per *band group* (key mod ``groups``), so the shuffle carries a few large
byte strings (16 B per entry), and a group finds equal keys by sorting, not by one
GroupByKey value per entry.

Node ids: ``tables.node_id`` of the survivor rank (63 bits), 8 bytes in a band entry.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterator

import numpy as np

from webrefine.dedup.tables import pack, sorted_rows

_EMPTY_EDGES = np.zeros((0, 2), dtype=np.int64)


def split_by(rows: np.ndarray, part: np.ndarray) -> Iterator[tuple[int, bytes]]:
    """(part, packed rows of that part) for every part present."""
    order = np.argsort(part, kind="stable")
    rows, part = rows[order], part[order]
    bounds = np.flatnonzero(part[1:] != part[:-1]) + 1
    for s, e in zip(np.r_[0, bounds], np.r_[bounds, len(part)]):
        if e > s:
            yield int(part[s]), pack(rows[s:e])


class BandBatcher:
    """Collects one worker's (band key, node id) pairs; ``flush`` packs them per band group."""

    def __init__(self, groups: int, max_entries: int = 1 << 20) -> None:
        self.groups, self.max_entries = groups, max_entries
        self._keys: list[np.ndarray] = []
        self._nodes: list[int] = []
        self._n = 0

    def add(self, keys: np.ndarray, node: int) -> list[tuple[int, bytes]]:
        """Adds one document's band keys; returns packed batches when the buffer is full."""
        self._keys.append(keys)
        self._nodes.append(node)
        self._n += len(keys)
        return self.flush() if self._n >= self.max_entries else []

    def flush(self) -> list[tuple[int, bytes]]:
        if not self._keys:
            return []
        keys = np.concatenate(self._keys).astype(np.int64)
        nodes = np.repeat(np.array(self._nodes, dtype=np.int64), [len(k) for k in self._keys])
        self._keys, self._nodes, self._n = [], [], 0
        return list(split_by(np.stack([keys, nodes], axis=1), keys % self.groups))


def bucket_edges(pairs: np.ndarray, counts: Counter) -> np.ndarray:
    """Star edges of every bucket in one band group: (bucket's smallest node, other member).

    ``pairs`` holds (band key, node id) rows in any order; a bucket of m distinct nodes
    gives m - 1 edges (``candidate_pairs``, datatrove's per-band pair count; ``buckets_shared``
    counts buckets of two nodes or more). Returns the group's distinct edges, sorted.
    """
    if len(pairs) < 2:
        return _EMPTY_EDGES
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    keys, nodes = pairs[:, 0], pairs[:, 1]
    distinct = np.r_[True, (keys[1:] != keys[:-1]) | (nodes[1:] != nodes[:-1])]
    keys, nodes = keys[distinct], nodes[distinct]  # a node listed twice in one bucket
    first = np.r_[True, keys[1:] != keys[:-1]]
    starts = np.flatnonzero(first)
    counts["buckets_shared"] += int(np.count_nonzero(np.diff(np.r_[starts, len(keys)]) >= 2))
    hub = nodes[starts][np.cumsum(first) - 1]
    edges = np.stack([hub[~first], nodes[~first]], axis=1)
    # Negative node ids are earlier runs' documents (dedup/earlier.py): they sort first, so
    # they are hubs; an edge to an earlier leaf joins two earlier documents, which their own
    # run already kept apart: dropped.
    between_earlier = edges[:, 1] < 0
    if between_earlier.any():
        counts["earlier_pairs_skipped"] += int(np.count_nonzero(between_earlier))
        edges = edges[~between_earlier]
    counts["candidate_pairs"] += len(edges)
    return sorted_rows(edges)
