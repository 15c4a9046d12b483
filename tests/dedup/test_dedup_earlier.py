"""Deduplicating against earlier runs (dedup/earlier.py): locators, ranks, groups, compatibility, index rows."""
from collections import Counter

import numpy as np
import pytest

from webrefine.dedup import earlier, lsh
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.select import full_key, rank, split_group
from webrefine.dedup.urls import UrlDedup
from webrefine.filters.document import Document


def D(i, text="t", date="", url=""):
    return Document(id=i, url=url or f"https://e.com/{i}", text=text, date=date)


@pytest.mark.parametrize("run,shard,row", [(0, 0, 0), (3, 17, 12345), (255, (1 << 24) - 1, (1 << 30) - 1)])
def test_earlier_node_is_negative_and_carries_its_locator(run, shard, row):
    node = earlier.earlier_node(run, shard, row)
    assert node < 0 and node >= -(1 << 63)
    assert earlier.is_earlier_node(node)
    assert earlier.locate(node) == (run, shard, row)


def test_earlier_nodes_are_distinct_per_locator():
    nodes = {earlier.earlier_node(r, s, w) for r in range(3) for s in range(3) for w in range(3)}
    assert len(nodes) == 27


@pytest.mark.parametrize("run,shard,row", [(256, 0, 0), (0, 1 << 24, 0), (0, 0, 1 << 30), (-1, 0, 0)])
def test_a_locator_out_of_range_is_refused(run, shard, row):
    with pytest.raises(ValueError, match="out of range"):
        earlier.earlier_node(run, shard, row)


def test_an_earlier_rank_sorts_before_every_new_document():
    new = [rank(D("a", date="1990-01-01T00:00:00Z")), rank(D("b")), rank(D("c", date="2024-01-01"), "latest")]
    e = earlier.earlier_rank(7, "zzz")
    assert all(e < r for r in new)
    assert earlier.earlier_rank(1, "z") < earlier.earlier_rank(2, "a")  # the first run given wins
    assert earlier.is_earlier_rank(e) and not any(earlier.is_earlier_rank(r) for r in new)
    assert earlier.rank_match(e) == (7, "zzz")


def _split(values):
    best, survivor, size, losers = earlier.split_with_earlier(values, full_key)
    return best, survivor and survivor.id, size, sorted(d.id for d in losers)


def test_a_group_holding_an_earlier_document_keeps_none_of_the_new_ones():
    group = [D("b", date="2020-01-01"), earlier.EarlierDoc(1, "x"), D("a"), earlier.EarlierDoc(0, "y")]
    assert _split(group) == (earlier.EarlierDoc(0, "y"), None, 2, ["a", "b"])


def test_without_an_earlier_document_the_group_splits_as_usual():
    group = [D("b", date="2020-01-01"), D("a"), D("c", date="2019-01-01")]
    survivor, size, losers = split_group(group)
    assert _split(group) == (None, survivor.id, size, sorted(d.id for d in losers))
    assert survivor.id == "c"


def test_a_group_of_earlier_documents_only_has_no_new_document():
    assert _split([earlier.EarlierDoc(0, "x")]) == (earlier.EarlierDoc(0, "x"), None, 0, [])


def test_bucket_edges_never_join_two_earlier_documents():
    a1, a2 = earlier.earlier_node(0, 0, 1), earlier.earlier_node(0, 0, 2)
    rows = np.array([(9, 50), (9, a2), (9, a1), (9, 40), (4, a1), (4, a2)], dtype=np.int64)
    counts = Counter()
    edges = lsh.bucket_edges(rows, counts)
    hub = min(a1, a2)  # the smallest node: an earlier one
    assert sorted(map(tuple, edges.tolist())) == sorted([(hub, 40), (hub, 50)])
    assert counts["earlier_pairs_skipped"] == 2  # (hub, other earlier) in both buckets
    assert counts["candidate_pairs"] == 2


def _wanted(**minhash):
    return earlier.key_params(ExactDedup(), UrlDedup(), MinhashDedup(**minhash) if minhash is not None else None)


def _manifest(keys):
    return {"format": earlier.FORMAT, "version": earlier.VERSION, "keys": keys}


STAGES = ("exact_dedup", "url_dedup", "minhash_dedup")


def test_the_same_parameters_are_compatible_whatever_the_survivor_rules():
    mine = earlier.key_params(ExactDedup(survivor="latest"), UrlDedup(survivor="earliest"), MinhashDedup(verify=False))
    assert earlier.incompatibility(_manifest(_wanted()), mine, STAGES) is None


@pytest.mark.parametrize("theirs,mine,stages,expected", [
    (_wanted(preset="fineweb"), _wanted(), STAGES, "minhash_dedup.bands is 14 there, 450 here"),
    (_wanted(ngram=4), _wanted(), STAGES, "minhash_dedup.ngram is 4 there, 5 here"),
    (_wanted(seed=2), _wanted(), STAGES, "minhash_dedup.seed is 2 there, 1 here"),
    (_wanted(normalize_digits=True), _wanted(), STAGES, "minhash_dedup.normalize_digits"),
    (earlier.key_params(ExactDedup(), UrlDedup(), None), _wanted(), STAGES, "had no minhash_dedup"),
    (earlier.key_params(ExactDedup(lowercase=True), UrlDedup(), None), _wanted(), ("exact_dedup",),
     "exact_dedup.lowercase is True there, False here"),
    (earlier.key_params(ExactDedup(), UrlDedup(lowercase_path=True), None), _wanted(), ("url_dedup",),
     "url_dedup.lowercase_path"),
])
def test_different_key_parameters_are_refused_with_the_parameter_named(theirs, mine, stages, expected):
    assert expected in earlier.incompatibility(_manifest(theirs), mine, stages)


def test_a_stage_this_run_does_not_have_is_not_checked():
    theirs = earlier.key_params(ExactDedup(), UrlDedup(), None)  # no band keys
    assert earlier.incompatibility(_manifest(theirs), _wanted(), ("exact_dedup", "url_dedup")) is None


def test_an_unknown_format_or_version_is_refused():
    assert "not a webrefine dedup index" in earlier.incompatibility({"format": "x"}, _wanted(), STAGES)
    bad = {**_manifest(_wanted()), "version": 99}
    assert "version 99" in earlier.incompatibility(bad, _wanted(), STAGES)


TEXT = " ".join(f"word{i}" for i in range(40))


def test_an_index_row_holds_the_stages_own_keys():
    exact, url, minhash = ExactDedup(), UrlDedup(), MinhashDedup(preset="fineweb")
    hasher = minhash.hasher()
    row = earlier.index_row("id1", "HTTPS://E.com:443/p#x", TEXT, 3, 7, exact, url, hasher)
    assert row["text_key"] == exact.key(TEXT) and len(row["text_key"]) == 16
    assert row["url_key"] == url.key("HTTPS://E.com:443/p#x") == "https://e.com/p"
    bands = np.frombuffer(row["bands"], dtype="<i8")
    assert bands.tolist() == hasher.band_keys(hasher.signature(hasher.shingle_hashes(TEXT)))
    assert len(bands) == 14
    assert (row["id"], row["shard"], row["row"]) == ("id1", 3, 7)


def test_an_index_row_without_url_minhash_or_enough_words_has_nulls():
    hasher = MinhashDedup(preset="fineweb").hasher()
    row = earlier.index_row("i", "", "too short", 0, 0, ExactDedup(), UrlDedup(), hasher)
    assert row["url_key"] is None and row["bands"] is None
    assert earlier.index_row("i", "u", TEXT, 0, 0, ExactDedup(), UrlDedup(), None)["bands"] is None
    with pytest.raises(ValueError, match="locator range"):
        earlier.index_row("i", "u", TEXT, 1 << 24, 0, ExactDedup(), UrlDedup(), None)
