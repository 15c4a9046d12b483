"""Batched LSH buckets, edge index and decision table (dedup/lsh.py), on small arrays."""
import itertools
from collections import Counter

import numpy as np

from webrefine.dedup import lsh, tables


def pairs(rows):
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def test_star_edges_from_the_bucket_minimum_whatever_the_order():
    bucket = [(9, 30), (9, 10), (9, 40), (9, 20), (5, 77)]  # key 9 shared by 4 nodes, key 5 alone
    for perm in itertools.permutations(bucket):
        counts = Counter()
        edges = lsh.bucket_edges(pairs(perm), counts)
        assert edges.tolist() == [[10, 20], [10, 30], [10, 40]]
        assert counts == {"buckets_shared": 1, "candidate_pairs": 3}


def test_edges_are_distinct_and_repeated_entries_count_once():
    # two buckets give the same edge; node 2 listed twice in bucket 1
    counts = Counter()
    edges = lsh.bucket_edges(pairs([(1, 2), (1, 3), (1, 2), (8, 3), (8, 2)]), counts)
    assert edges.tolist() == [[2, 3]]
    assert counts == {"buckets_shared": 2, "candidate_pairs": 2}


def test_singletons_and_empty_groups_give_nothing():
    counts = Counter()
    assert len(lsh.bucket_edges(pairs([(1, 2), (3, 4)]), counts)) == 0
    assert len(lsh.bucket_edges(pairs([]), counts)) == 0
    assert counts["candidate_pairs"] == 0


def test_batcher_packs_every_entry_once_per_group():
    b = lsh.BandBatcher(groups=4, max_entries=5)
    out = b.add(np.array([4, 5, 6], dtype=np.int64), 100)  # 3 entries: below the limit
    assert out == []
    out = b.add(np.array([7, 8, 13], dtype=np.int64), 200)  # 6 ≥ 5: flushed
    got = {g: tables.unpack(blob).tolist() for g, blob in out}
    assert got == {0: [[4, 100], [8, 200]], 1: [[5, 100], [13, 200]], 2: [[6, 100]], 3: [[7, 200]]}
    assert b.flush() == []


def test_batched_buckets_match_a_plain_dictionary_grouping():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 50, size=(300, 4))  # 300 documents × 4 bands, small key space
    b = lsh.BandBatcher(groups=3, max_entries=64)
    batches = [x for node, k in enumerate(keys) for x in b.add(k.astype(np.int64), node)] + b.flush()
    got = set()
    for g in range(3):
        got |= set(map(tuple, lsh.bucket_edges(tables.unpack_all(blob for gg, blob in batches if gg == g),
                                               Counter()).tolist()))
    want = set()
    for band_key in set(keys.ravel().tolist()):
        members = sorted({n for n, k in enumerate(keys) if band_key in k.tolist()})
        want |= {(members[0], m) for m in members[1:]}
    assert got == want


def test_node_ids_are_63_bit_and_stable():
    nid, check = tables.node_id((0, "2024-05-01T00:00:00Z", "urn:uuid:1"))
    assert 0 <= nid < 2**63 and 0 <= check < 2**63
    assert tables.node_id((0, "2024-05-01T00:00:00Z", "urn:uuid:1")) == (nid, check)
    assert tables.node_id((0, "2024-05-01T00:00:00Z", "urn:uuid:2"))[0] != nid
