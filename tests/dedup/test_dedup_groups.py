"""The per-group steps of MinHash clustering, run with in-memory "shuffles"."""
import random
from collections import Counter, defaultdict

import numpy as np

from webrefine.dedup import groups


def group(pairs):
    out = defaultdict(list)
    for k, v in pairs:
        out[k].append(v)
    return out


def combine_min(messages):
    accs = defaultdict(groups.min_create)
    for k, m in messages:
        accs[k] = groups.min_add(accs[k], m)
    return {k: groups.min_extract(a) for k, a in accs.items()}


def components(edges, rounds):
    """Labels after ``rounds`` rounds, and how many nodes changed in the last one."""
    labels = combine_min(m for e in edges for m in groups.first_messages(e))
    adjacency = [(u, (groups.NEIGHBOUR, v)) for a, b in edges for u, v in ((a, b), (b, a))]
    for _ in range(rounds - 1):
        grouped = group([(x, (groups.LABEL, lab)) for x, (lab, _) in labels.items()] + adjacency)
        labels = combine_min(m for x, vs in grouped.items() for m in groups.propagate(x, vs))
    return {x: lab for x, (lab, _) in labels.items()}, sum(ch for _, ch in labels.values())


def test_chain_needs_rounds_and_reports_non_convergence():
    chain = [(i, i + 1) for i in range(6)]  # 0-1-2-3-4-5-6: label 0 needs 6 hops to reach 6
    labels, changed = components(chain, rounds=6)
    assert set(labels.values()) == {0} and changed == 1  # right, but not yet known to be
    labels, changed = components(chain, rounds=7)
    assert set(labels.values()) == {0} and changed == 0
    labels, changed = components(chain, rounds=3)
    assert changed > 0 and labels[0] == 0 and labels[6] == 3  # safe: only extra survivors


def test_components_are_independent_of_edge_order():
    rng = random.Random(0)
    edges = [(1, 5), (5, 9), (2, 3), (3, 8), (8, 2), (10, 11)]
    for _ in range(5):
        rng.shuffle(edges)
        flipped = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges]
        labels, changed = components(flipped, rounds=6)
        assert changed == 0
        assert labels == {1: 1, 5: 1, 9: 1, 2: 2, 3: 2, 8: 2, 10: 10, 11: 10}


def test_min_combiner_merges_partial_accumulators():
    a = groups.min_add(groups.min_create(), (5, True))
    b = groups.min_add(groups.min_add(groups.min_create(), (3, False)), (7, False))
    assert groups.min_extract(groups.min_merge([a, b])) == (3, True)
    assert groups.min_extract(groups.min_add(groups.min_create(), (4, True))) == (4, False)


def test_to_hubs_sends_the_header_home_only_for_hubs():
    sh = np.array([1, 2], dtype="<u4").tobytes()
    assert list(groups.to_hubs(7, ("r",), sh, False, [3, 5])) == [
        (3, (groups.LEAF, ("r",), sh)), (5, (groups.LEAF, ("r",), sh))]
    assert list(groups.to_hubs(7, ("r",), None, True, [])) == [(7, (groups.HEADER, ("r",), None))]


def test_verify_at_hub_applies_the_threshold():
    hub = np.arange(10, dtype="<u4")
    near = np.arange(1, 11, dtype="<u4")  # 9/11 = 0.818
    far = np.arange(3, 13, dtype="<u4")  # 7/13 = 0.538
    values = [(groups.LEAF, "far", far.tobytes()), (groups.HEADER, "hub", hub.tobytes()), (groups.LEAF, "near", near.tobytes())]
    counts = Counter()
    assert list(groups.verify_at_hub(values, True, 0.8, counts)) == [("hub", "near")]
    assert counts == {"unique_pairs": 2, "pairs_verified": 2, "pairs_rejected": 1, "records_received": 3}
    counts = Counter()
    assert len(list(groups.verify_at_hub(values, False, 0.8, counts))) == 2 and "pairs_verified" not in counts


def test_cluster_decisions_keep_the_label_node():
    out = dict(groups.cluster_decisions("a", ["c", "a", "b"]))
    assert out == {"a": (True, 3, "a"), "b": (False, 3, "a"), "c": (False, 3, "a")}


def test_marks_meet_documents_at_their_node():
    marks = list(groups.edge_marks([(1, 5), (1, 6), (2, 6)]))
    at = group(marks + [(6, (groups.DOC, "d6")), (9, (groups.DOC, "d9"))])
    assert groups.node_view(at[6]) == (["d6"], False, [1, 2])
    assert groups.node_view(at[1]) == ([], True, [])
    assert groups.node_view(at[9]) == (["d9"], False, [])


def test_marks_are_compact_and_counted_and_an_earlier_runs_hub_is_a_negative_id():
    from collections import Counter

    marks = list(groups.edge_marks([(-7, 5), (5, 8)]))
    assert marks == [(-7, None), (5, -7), (5, None), (8, 5)]
    at, counts = group(marks + [(5, (groups.DOC, "d5"))]), Counter()
    assert groups.node_view(at[5], counts) == (["d5"], True, [-7])
    assert groups.node_view(at[-7], counts) == ([], True, [])
    assert counts["marks_received"] == 3


def test_join_decision_matches_the_documents_own_rank():
    values = [(groups.DOC, "a"), (groups.DECISION, ("r", "a"), False, 3), (groups.DOC, "b")]
    docs = [v[1] for v in values if v[0] == groups.DOC]
    out = dict(groups.join_decision(lambda d: ("r", d), docs, values))
    assert out == {"a": (False, 3), "b": None}  # "b" shares the node id only: kept
