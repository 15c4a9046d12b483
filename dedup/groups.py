"""Pure per-group steps of MinHash clustering, each called on one GroupByKey result.

Memory is O(1) in the group size: a group is iterated at most twice and never stored.
Beam's grouped values are re-iterable (runners page large groups from shuffle state and
re-read them: ``ContinuationIterable`` in the SDK harness), so a bucket shared by
millions of documents costs time, not memory. Pass 1 finds what the group needs first
(its minimum, its header record); pass 2 streams the outputs. Nothing here depends on
the order of values inside a group, so results are the same on any runner.

Clustering, end to end (pipeline/beam/dedup_transforms.py wires it):
1. band buckets → star edges from the bucket's smallest node id to each other member
   (dedup/lsh.py ``bucket_edges``, sorted numpy batches); the candidate graph is the
   union over all bands, one small table of distinct edges;
2. marks of the edges meet the documents at their node ids (``node_view``): a document
   in no edge (most) is unique and leaves; one in an edge (``to_hubs``) ships its rank
   (and shingles, to verify) to its hubs' keys → ``verify_at_hub``: exact Jaccard against the hub, edges
   re-expressed in rank space (rank = survivor key: earliest date, then id);
3. connected components by min-label propagation on ranks: round 1 takes the minimum
   over each node's closed neighbourhood; each later round is one GroupByKey joining a
   node's label with its neighbours (``propagate``) + CombinePerKey(min). The fixed
   point labels every node with its component's minimum rank, i.e. its survivor;
4. ``cluster_decisions`` (keyed by label): the member whose rank is the label is kept
   with the cluster size; the others are dropped as duplicates of it; decisions meet
   the candidate documents at their node ids (``join_decision``).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Iterator

import numpy as np

from webrefine.dedup.shingles import jaccard

HEADER, LEAF, DOC, DECISION, LABEL, NEIGHBOUR = "N", "L", "D", "C", "L", "B"
# A mark, the value most often shuffled (13.8M at 1M documents, held in a local runner's memory):
# None tells a node it is a hub, an int that it is a leaf of that hub. About 26 bytes each in the
# runner once decoded instead of about 78 as a tagged tuple, 15.5 bytes encoded with its key instead of 20.
HUB_MARK = None


def node_view(values: Iterable[tuple], counts: Counter | None = None) -> tuple[list, bool, list]:
    """At a node id's key: its document(s) (several only for a shared rank or an id
    collision), whether it is some edge's hub, and the hubs it is a leaf of (distinct:
    a pair found in several band groups sends several marks). Counts ``marks_received``."""
    docs, is_hub, hubs, marks = [], False, set(), 0
    for v in values:
        if v is HUB_MARK:
            is_hub = True
            marks += 1
        elif type(v) is int:
            hubs.add(v)
            marks += 1
        elif v[0] == DOC:
            docs.append(v[1])
    if counts is not None:
        counts["marks_received"] += marks
    return docs, is_hub, sorted(hubs)


def edge_marks(edges: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int | None]]:
    """(hub, leaf) edges → marks at both ends: the hub learns it is one, the leaf its hub."""
    for hub, leaf in edges:
        yield hub, HUB_MARK
        yield leaf, hub


def join_decision(rank_of, docs: Iterable, values: Iterable[tuple]) -> Iterator[tuple[Any, tuple | None]]:
    """At a node id's key: candidate documents and decisions (DECISION, rank, kept, size)
    → (doc, (kept, size)) for the decision whose rank is the document's; None when there
    is none (no verified edge, or another document holding the same node id)."""
    decisions = {v[1]: v[2:] for v in values if v[0] == DECISION}
    for doc in docs:
        yield doc, decisions.get(rank_of(doc))


def to_hubs(node: int, rank: tuple, shingles: bytes | None, is_hub: bool,
            hubs: Iterable[int]) -> Iterator[tuple[int, tuple]]:
    """A candidate document's records: its header at its own key if it is a hub, and one
    LEAF record (rank, shingles) at each hub it is a leaf of (dedup/lsh.py EdgeIndex)."""
    if is_hub:
        yield node, (HEADER, rank, shingles)
    for hub in hubs:
        yield hub, (LEAF, rank, shingles)


def verify_at_hub(values: Iterable[tuple], verify: bool, threshold: float,
                  counts: Counter) -> Iterator[tuple[tuple, tuple]]:
    """At a hub's key: its header and its leaves' records (possibly millions, streamed).

    Yields rank edges (hub rank, leaf rank) that pass verification (all, if off).
    """
    header, n = None, 0
    for v in values:
        n += 1
        if v[0] == HEADER:
            header = _smaller_header(header, v)
    counts["records_received"] += n  # every record, a hub's header included (pipeline/stats/build.py lost_messages)
    if header is None:
        return
    _, hub_rank, hub_sh = header
    hub_set = np.frombuffer(hub_sh, dtype="<u4") if verify else None
    for tag, rank, shingles in values:
        if tag != LEAF:
            continue
        counts["unique_pairs"] += 1
        if verify:
            counts["pairs_verified"] += 1
            if jaccard(hub_set, np.frombuffer(shingles, dtype="<u4")) < threshold:
                counts["pairs_rejected"] += 1
                continue
        yield hub_rank, rank


def _smaller_header(a: tuple | None, b: tuple) -> tuple:
    """Two docs sharing a rank (duplicate ids) share a node: keep one header, stably."""
    if a is None:
        return b
    return b if (b[1], b[2] or b"") < (a[1], a[2] or b"") else a


def first_messages(edge: tuple[Any, Any]) -> Iterator[tuple[Any, tuple[Any, bool]]]:
    """Round 1 of label propagation: each endpoint hears itself and the other end."""
    u, v = edge
    yield u, (u, True)
    yield v, (v, True)
    yield u, (v, False)
    yield v, (u, False)


def propagate(node: Any, values: Iterable[tuple]) -> Iterator[tuple[Any, tuple[Any, bool]]]:
    """A later round at one node: send its label to itself and to every neighbour."""
    label = None
    for tag, value in values:
        if tag == LABEL:
            label = value
            break
    if label is None:
        return
    yield node, (label, True)
    for tag, value in values:
        if tag == NEIGHBOUR:
            yield value, (label, False)


# CombinePerKey over propagate's messages: accumulator (own label, minimum heard).
def min_create() -> tuple:
    return (None, None)


def min_add(acc: tuple, msg: tuple) -> tuple:
    own, best = acc
    label, is_self = msg
    if is_self:
        own = label if own is None or label < own else own
    return own, (label if best is None or label < best else best)


def min_merge(accs: Iterable[tuple]) -> tuple:
    own, best = None, None
    for o, b in accs:
        if o is not None and (own is None or o < own):
            own = o
        if b is not None and (best is None or b < best):
            best = b
    return own, best


def min_extract(acc: tuple) -> tuple[Any, bool]:
    """(new label, changed this round)."""
    own, best = acc
    return best, own is None or best < own


def cluster_decisions(label: Any, members: Iterable[Any]) -> Iterator[tuple[Any, tuple[bool, int, Any]]]:
    """At a component's label: (member, (kept, cluster size, survivor rank))."""
    size = sum(1 for _ in members)
    for m in members:
        yield m, (m == label, size, label)
