import pytest

from webrefine.dedup.urls import UrlDedup, normalise_url


@pytest.mark.parametrize("url, key", [
    ("HTTP://WWW.Example.COM/Path?Q=A#frag", "http://www.example.com/Path?Q=A"),
    ("https://example.com:443", "https://example.com/"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("http://User:PW@Example.com/x", "http://User:PW@example.com/x"),
    ("http://example.com:bad/x#y", "http://example.com:bad/x"),
    ("  ", ""),
])
def test_normalise_url(url, key):
    assert normalise_url(url) == key


def test_path_case_is_kept_unless_asked():
    assert normalise_url("http://a.com/A") != normalise_url("http://a.com/a")
    assert normalise_url("http://a.com/A?X", lowercase_path=True) == "http://a.com/a?x"


def test_fragment_only_differences_collapse():
    assert UrlDedup().key("http://a.com/p#1") == UrlDedup().key("HTTP://A.com/p#2")


def test_config_defaults_and_validation():
    stage = UrlDedup()
    assert (stage.name, stage.reasons, stage.survivor) == ("url_dedup", ("url_dedup.duplicate",), "latest")
    assert UrlDedup(survivor="earliest").survivor == "earliest"
    with pytest.raises(ValueError, match="survivor"):
        UrlDedup(survivor="oldest")
