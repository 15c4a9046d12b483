import itertools

import pytest

from webrefine.dedup.select import check_rule, date_key, full_key, rank, split_group
from webrefine.filters.document import Document


def doc(i, date="", text="t", url="u"):
    return Document(id=i, url=url, text=text, date=date)


def test_earliest_date_wins_then_smallest_id():
    docs = [doc("b", "2024-05-02T00:00:00Z"), doc("c", "2024-05-01T00:00:00Z"), doc("a", "2024-05-01T00:00:00Z")]
    assert min(docs, key=rank).id == "a"


def test_undated_sorts_last_under_both_rules():
    dated, undated = doc("z", "1999-01-01T00:00:00Z"), doc("a", "")
    for rule in ("earliest", "latest"):
        assert rank(dated, rule) < rank(undated, rule)


def test_latest_rule_inverts_dates_only():
    older, newer = doc("a", "2024-05-01T00:00:00Z"), doc("b", "2024-05-02T00:00:00Z")
    assert rank(newer, "latest") < rank(older, "latest")
    assert rank(older, "earliest") < rank(newer, "earliest")
    # ties on date: smallest id under both rules
    x, y = doc("x", "2024-05-01T00:00:00Z"), doc("y", "2024-05-01T00:00:00Z")
    assert rank(x, "latest") < rank(y, "latest")


def test_latest_treats_a_prefix_as_earlier():
    assert date_key("2024-05", "latest") < date_key("2024", "latest")
    assert date_key("2024", "earliest") < date_key("2024-05", "earliest")


def test_full_key_breaks_id_ties_by_content():
    assert full_key(doc("a", text="x")) < full_key(doc("a", text="y"))


def test_split_group_is_order_independent_and_streams_losers():
    docs = [doc("d", "2024-01-03"), doc("b", "2024-01-01"), doc("c", "2024-01-01"), doc("a", "")]
    for perm in itertools.permutations(docs):
        survivor, size, losers = split_group(list(perm))
        assert survivor.id == "b" and size == 4
        assert sorted(d.id for d in losers) == ["a", "c", "d"]


def test_split_group_keeps_one_of_identical_documents():
    same = [doc("a", "2024"), doc("a", "2024")]
    survivor, size, losers = split_group(same)
    assert size == 2 and len(list(losers)) == 1 and survivor == same[0]


def test_split_group_rejects_empty_groups_and_unknown_rules():
    with pytest.raises(ValueError):
        split_group([])
    with pytest.raises(ValueError, match="survivor"):
        check_rule("newest", "x")
