"""Tally: exact merging, bounded deterministic samples, order independence."""
import random

from webrefine.pipeline.stats.tally import Tally, round_sig


def test_counts_and_histograms_merge_exactly():
    a, b = Tally(), Tally()
    a.count("x", 2); b.count("x", 3); b.count("y")
    a.observe("h", 0.1234); b.observe("h", 0.1231); b.observe("h", 57.0)
    m = Tally.merged([a, b])
    assert m.counts == {"x": 5, "y": 1}
    assert m.hists["h"] == {0.123: 2, 57.0: 1}


def test_round_sig():
    assert round_sig(0.65432) == 0.654 and round_sig(123456) == 123000 and round_sig(0) == 0


def test_samples_are_bounded_and_independent_of_order_and_split():
    keys = [f"doc-{i}" for i in range(500)]
    whole = Tally()
    for k in keys:
        whole.sample("r", k, k, k=10)
    shuffled = keys[:]
    random.Random(1).shuffle(shuffled)
    parts = [Tally() for _ in range(7)]
    for i, k in enumerate(shuffled):
        parts[i % 7].sample("r", k, k, k=10)
    merged = Tally.merged(reversed(parts))
    assert len(whole.sample_items("r")) == 10
    assert whole.sample_items("r") == merged.sample_items("r")


def test_top_keeps_the_largest():
    t = Tally()
    for i in range(100):
        t.top("c", f"k{i}", float(i), i, k=3)
    assert t.top_items("c") == [99, 98, 97]
