"""url_filter: blocklists, URL words and high-quality sources (docs/rules.md, URL filter)."""
import io
import os
import pickle

import pytest

from webrefine.filters import resources
from webrefine.filters.document import Document
from webrefine.filters.url_filter import DATA_DIR, DEFAULT_LISTS, UrlFilter, normalize_url, trie_regex

F = UrlFilter()


def doc(url):
    return Document(id="d", url=url)


def reason(url, f=F):
    v = f(doc(url))
    failed = f.failing(v.signals)
    assert v.reason == (failed[0] if failed else None)
    assert set(v.signals) == {r.split(".", 1)[1] for r in f.reasons}
    return v.reason


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("# a comment\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


# --- conformance cases -------------------------------------------------------------------
def test_hard_word_after_lowercasing():
    assert reason("https://www.Example-Casino.com/page") == "url_filter.hard_word"


def test_hq_source_by_suffix():
    assert reason("https://math.stackexchange.com/q/1") == "url_filter.hq_source"


# --- each rule ---------------------------------------------------------------------------
def test_registered_domain_and_www():
    assert reason("https://pornhub.com/") == "url_filter.domain"
    assert reason("https://www.pornhub.com/view") == "url_filter.domain"
    assert reason("http://de.PornHub.com:8080/x") == "url_filter.domain"
    assert reason("https://example.com/") is None


def test_subdomain_entries(tmp_path):
    f = UrlFilter(domain_lists=(write(tmp_path, "d.txt", ["bad.example.org", "www.worse.example.net"]),))
    assert reason("https://bad.example.org/", f) == "url_filter.subdomain"
    assert reason("https://x.bad.example.org/", f) == "url_filter.subdomain"
    assert reason("https://good.example.org/", f) is None
    assert reason("https://www.worse.example.net/", f) == "url_filter.subdomain"  # www. dropped both sides


def test_only_one_leading_www_is_stripped(tmp_path):
    f = UrlFilter(domain_lists=(write(tmp_path, "d.txt", ["www.example.org", "wwwexample.org"]),))
    # the entry "www.example.org" means example.org (one www. label dropped)
    assert reason("https://example.org/", f) == "url_filter.domain"
    assert reason("https://wwwexample.org/", f) == "url_filter.domain"
    assert reason("https://awww.example.com/", f) is None


def test_private_suffixes_make_their_own_sites():
    # blogspot.com is a public suffix: one blog is a registered domain of its own
    f = UrlFilter(use_default_lists=False, domain_lists=(os.path.join(DATA_DIR, DEFAULT_LISTS["domains"]),))
    assert reason("https://testsafebrowsing.appspot.com/s/phishing.html", f) == "url_filter.domain"
    assert reason("https://other.appspot.com/", f) is None


def test_exact_urls(tmp_path):
    f = UrlFilter(url_lists=(write(tmp_path, "u.txt", ["example.com/bad/page.html", "https://www.example.org/x/"]),))
    assert reason("http://www.example.com/bad/page.html", f) == "url_filter.exact"
    assert reason("https://EXAMPLE.com/bad/page.html#top", f) == "url_filter.exact"
    assert reason("https://example.org/x", f) == "url_filter.exact"
    assert reason("https://example.com/bad/page.html?x=1", f) is None
    assert normalize_url("HTTPS://www.Example.com/A/#f") == "example.com/a"


def test_strict_subwords_match_inside_words():
    assert reason("https://example.com/best-xhamsterclips") == "url_filter.strict_word"
    assert reason("https://example.com/x-ham-ster") == "url_filter.strict_word"  # separators deleted
    assert reason("https://example.com/please-verify-your-account") == "url_filter.strict_word"
    assert reason("https://example.com/shop-ornaments") is None  # why "porn" is not strict


def test_hard_words_are_whole_pieces():
    assert reason("https://example.com/casino/") == "url_filter.hard_word"
    assert reason("https://example.com/CASINO-night") == "url_filter.hard_word"
    assert reason("https://example.com/casinoroyale") is None
    assert reason("https://example.com/porn%20videos") == "url_filter.hard_word"  # percent-decoded


def test_soft_words_need_two_distinct():
    assert reason("https://example.com/hot-sex") == "url_filter.soft_words"
    assert reason("https://example.com/sex-education") is None
    assert reason("https://example.com/sex/sex/sex") is None  # distinct pieces
    assert reason("https://example.com/poker/jackpot?bonus=1") == "url_filter.soft_words"
    f = UrlFilter(soft_word_threshold=3)
    assert reason("https://example.com/hot-sex", f) is None
    assert reason("https://example.com/hot-sex-cams", f) == "url_filter.soft_words"


def test_hq_sources():
    assert reason("https://stackoverflow.com/questions/1") == "url_filter.hq_source"
    assert reason("https://es.stackoverflow.com/q/1") == "url_filter.hq_source"
    assert reason("https://www.reddit.com/r/x") == "url_filter.hq_source"
    assert reason("https://en.wikipedia.org/wiki/X") == "url_filter.hq_source"
    assert reason("https://en.m.wikipedia.org/wiki/X") == "url_filter.hq_source"
    assert reason("https://de.wikipedia.org/wiki/X") is None
    assert reason("https://notgithub.com/") is None
    assert reason("https://github.com/x", UrlFilter(exclude_hq_sources=False)) is None


def test_rule_order_and_failing():
    v = F(doc("https://www.pornhub.com/casino/hot-sex"))
    assert v.reason == "url_filter.domain"
    assert F.failing(v.signals) == (
        "url_filter.domain", "url_filter.strict_word", "url_filter.hard_word", "url_filter.soft_words",
    )


def test_one_case_per_reason(tmp_path):
    f = UrlFilter(
        domain_lists=(write(tmp_path, "d.txt", ["sub.example.org"]),),
        url_lists=(write(tmp_path, "u.txt", ["example.net/page"]),),
    )
    cases = {
        "url_filter.domain": "https://xvideos.com/",
        "url_filter.subdomain": "https://sub.example.org/",
        "url_filter.exact": "https://example.net/page",
        "url_filter.strict_word": "https://example.net/chaturbate-stream",
        "url_filter.hard_word": "https://example.net/casino",
        "url_filter.soft_words": "https://example.net/betting-odds",
        "url_filter.hq_source": "https://arxiv.org/abs/1",
    }
    for expected, url in cases.items():
        assert reason(url, f) == expected, url
    assert sorted(cases) == sorted(f.reasons)


def test_odd_and_empty_urls():
    for url in ("", "http://1.2.3.4/x", "http://localhost:8000/", "not a url", "example.com/casino", "http://[::1]/"):
        reason(url)
    assert reason("example.com/casino") == "url_filter.hard_word"
    assert reason("http://1.2.3.4/casino") == "url_filter.hard_word"


def test_non_english_urls(tmp_path):
    assert reason("https://例え.テスト/ページ") is None
    assert reason("https://пример.рф/казино") is None  # default lists are English
    f = UrlFilter(domain_lists=(write(tmp_path, "d.txt", ["xn--e1afmkfd.xn--p1ai"]),))  # пример.рф
    assert reason("https://www.ПРИМЕР.рф/", f) == "url_filter.domain"


# --- lists -------------------------------------------------------------------------------
def test_user_lists_add_to_the_defaults(tmp_path):
    f = UrlFilter(
        domain_lists=(write(tmp_path, "d.txt", ["Bad-Site.example"]),),
        hard_word_lists=(write(tmp_path, "h.txt", ["Badword"]),),
        soft_word_lists=(write(tmp_path, "s.txt", ["alpha", "beta"]),),
        strict_word_lists=(write(tmp_path, "st.txt", ["zz-top"]),),
        hq_domain_lists=(write(tmp_path, "hq.txt", ["curated.example"]),),
    )
    assert reason("https://bad-site.example/", f) == "url_filter.domain"
    assert reason("https://pornhub.com/", f) == "url_filter.domain"  # default still there
    assert reason("https://example.com/badword", f) == "url_filter.hard_word"
    assert reason("https://example.com/casino", f) == "url_filter.hard_word"
    assert reason("https://example.com/alpha/beta", f) == "url_filter.soft_words"
    assert reason("https://example.com/buzztopper", f) == "url_filter.strict_word"
    assert reason("https://docs.curated.example/", f) == "url_filter.hq_source"
    assert reason("https://arxiv.org/", f) == "url_filter.hq_source"


def test_use_default_lists_false_replaces_them(tmp_path):
    f = UrlFilter(use_default_lists=False, hard_word_lists=(write(tmp_path, "h.txt", ["badword"]),))
    assert reason("https://pornhub.com/casino", f) is None
    assert reason("https://arxiv.org/", f) is None
    assert reason("https://example.com/badword", f) == "url_filter.hard_word"


def test_remote_paths_go_through_the_resource_opener(monkeypatch):
    seen = []

    def opener(path):  # what pipeline/ installs: Beam FileSystems, local and remote
        seen.append(path)
        if path.startswith("mem://"):
            return io.BytesIO(b"# remote list\nremote-bad.example\n")
        return open(path, "rb")

    monkeypatch.setattr(resources, "_opener", resources._opener)  # restored afterwards
    resources.set_opener(opener)
    f = UrlFilter(domain_lists=("mem://bucket/domains",))
    assert reason("https://remote-bad.example/", f) == "url_filter.domain"
    assert "mem://bucket/domains" in seen and len(seen) == 7  # six defaults + one


def test_word_entries_must_be_single_pieces(tmp_path):
    f = UrlFilter(hard_word_lists=(write(tmp_path, "h.txt", ["two words"]),))
    with pytest.raises(ValueError, match="single alphanumeric pieces"):
        f.setup()


def test_default_list_files_are_shipped_and_clean():
    for kind, name in DEFAULT_LISTS.items():
        path = os.path.join(DATA_DIR, name)
        assert os.path.exists(path)
        entries = resources.read_lines(path)
        assert all(e == e.lower() and " " not in e for e in entries), kind
    assert "casino" in resources.read_lines(os.path.join(DATA_DIR, DEFAULT_LISTS["hard"]))


def test_trie_regex():
    r = trie_regex(["ab", "abc", "b", "x.y"])
    assert r.findall("xabcxbabx.y") == ["abc", "b", "ab", "x.y"]
    assert trie_regex([]) is None


# --- stage contract ------------------------------------------------------------------------
def test_lists_load_lazily_once_and_are_never_pickled():
    f = UrlFilter()
    assert "_domains" not in f.__dict__
    assert reason("https://pornhub.com/", f) == "url_filter.domain"  # lazy setup
    domains = f.__dict__["_domains"]
    f.setup()
    assert f.__dict__["_domains"] is domains  # loaded once
    blob = pickle.dumps(f)
    assert b"pornhub" not in blob and b"casino" not in blob and len(blob) < 1000
    g = pickle.loads(blob)
    assert g == f and "_domains" not in g.__dict__
    assert reason("https://pornhub.com/", g) == "url_filter.domain"


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        UrlFilter(soft_word_threshold=0)
    with pytest.raises(ValueError):
        UrlFilter(domain_lists=["a.txt"])  # the config loader passes tuples


def test_does_not_mutate():
    d = doc("https://www.Example-Casino.com/page")
    F(d)
    assert d.url == "https://www.Example-Casino.com/page" and d.signals == {}
