"""URL filtering (docs/rules.md, URL filter), RefinedWeb's first stage: adult and fraudulent sites, and
high-quality sources kept out of the web corpus. A URL is dropped when any rule fires;
the reason is the first in this order:

- ``domain``: its registered domain (eTLD+1 by the Public Suffix List) is blocklisted;
- ``subdomain``: one of its longer hosts (down to the registered domain) is blocklisted;
- ``exact``: the URL itself is listed (case, scheme, one leading ``www.``, fragment and a
  trailing ``/`` ignored);
- ``strict_word``: a strict subword occurs anywhere in the URL, lowercased, percent-decoded
  and stripped of every non-alphanumeric (so also inside other words);
- ``hard_word``: one URL piece (the lowercased, percent-decoded URL split on
  non-alphanumerics) is a hard word;
- ``soft_words``: at least ``soft_word_threshold`` (2) distinct pieces are soft words: the
  paper's "weighed by severity" score, encoded as the three tiers both open
  reimplementations use;
- ``hq_source``: the host or a parent domain is a high-quality source (RefinedWeb removes
  them to be mixable with curated corpora; FineWeb does not: ``exclude_hq_sources=False``).

Hosts are lowercased and lose one leading ``www.`` label, and only that one (DCLM deletes
every "www" substring); words are matched lowercased (datatrove does not lowercase its
word pieces). The HQ list matches by domain suffix, so Stack Exchange subdomains go too
(DCLM matches exact hosts); see ``data/hq_domains.txt``.

Lists. The package ships small hand-written defaults in ``filters/data/`` (one entry per
line, ``#`` comments). RefinedWeb's own lists are not published; its domain list (~4.6M
domains) was built from the UT1 blacklists of Université Toulouse Capitole, which the
bundled seed cannot replace. For real runs download UT1 from
https://dsi.ut-capitole.fr/blacklists/ (``blacklists.tar.gz``; categories adult, phishing,
dating, gambling, filehosting, ddos, agressif, chat, mixed_adult, arjel), unpack it to a
bucket or disk, and list its files in the config; they add to the defaults
(``use_default_lists: false`` replaces them)::

    url_filter:
      domain_lists: [gs://my-bucket/ut1/adult/domains, gs://my-bucket/ut1/gambling/domains]
      url_lists: [gs://my-bucket/ut1/adult/urls]

Lists load once per worker in ``setup()`` (``filters.resources.read_lines``, so local and
``gs://`` paths work) into underscore attributes that are never pickled; ``__call__`` sets
up lazily when called directly. Domains, URLs and words are held in sets; the strict
subwords are one regex compiled from a trie (a single pass, fast for long lists too).
Registered domains come from the ``tld`` package's bundled Public Suffix List (offline, a
trafilatura dependency) with private suffixes on, so ``foo.blogspot.com`` is its own site.
Memory: UT1's adult list (~4M domains) takes a few hundred MB as a Python set in each worker
process; give workers the memory, or pre-filter the list to the domains of the crawl.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import ClassVar, Iterable
from urllib.parse import unquote, urlsplit

from tld import get_tld

from webrefine.filters.document import Document
from webrefine.filters.stage import Filter, Rule
from webrefine.filters.resources import read_lines

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEFAULT_LISTS = {
    "domains": "url_domains.txt",
    "urls": "url_exact.txt",
    "strict": "url_strict_subwords.txt",
    "hard": "url_hard_words.txt",
    "soft": "url_soft_words.txt",
    "hq": "hq_domains.txt",
}
_PIECE_SPLIT = re.compile(r"[\W_]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://")
_SIGNALS = ("domain", "subdomain", "exact", "strict_word", "hard_word", "soft_words", "hq_source")


def normalize_host(host: str) -> str:
    """Lowercase, no trailing dot, one leading ``www.`` label dropped, punycode (IDNA) for
    internationalised names, so lists written either way match."""
    host = host.strip().lower().rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host[4:] if host.startswith("www.") else host


def normalize_url(url: str) -> str:
    """The key of the exact-URL list: lowercase, no scheme, no leading www., no fragment,
    no trailing slash."""
    url = _SCHEME.sub("", url.strip().lower()).split("#", 1)[0].rstrip("/")
    return url[4:] if url.startswith("www.") else url


def trie_regex(words: Iterable[str]) -> re.Pattern | None:
    """One regex matching any of ``words``, built as a trie so matching is a single pass
    whose cost does not grow with the list (Python's alternation tries each branch)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(trie)) if trie else None


def _parents(host: str) -> list[str]:
    """``host`` and every parent domain: a.b.c → [a.b.c, b.c, c]."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


@dataclass(frozen=True)
class UrlFilter(Filter):
    """Drops documents by URL: blocklists, URL words and high-quality sources (module doc)."""

    name: ClassVar[str] = "url_filter"
    input: ClassVar[str] = "url"
    signal_names: ClassVar[tuple[str, ...]] = _SIGNALS
    rules: ClassVar[tuple[Rule, ...]] = (
        *(Rule(s, s, "max", None, note="a match in the block lists") for s in _SIGNALS[:5]),
        Rule("soft_words", "soft_words", "max_ge", "soft_word_threshold"),
        Rule("hq_source", "hq_source", "max", None, enabled_by="exclude_hq_sources"),
    )

    domain_lists: tuple[str, ...] = ()  # extra paths (local or gs://), added to the default
    url_lists: tuple[str, ...] = ()
    strict_word_lists: tuple[str, ...] = ()
    hard_word_lists: tuple[str, ...] = ()
    soft_word_lists: tuple[str, ...] = ()
    hq_domain_lists: tuple[str, ...] = ()
    use_default_lists: bool = True  # False: only the lists given above
    soft_word_threshold: int = 2
    exclude_hq_sources: bool = True  # RefinedWeb: yes; FineWeb: no

    def __post_init__(self) -> None:
        if self.soft_word_threshold < 1:
            raise ValueError(f"url_filter.soft_word_threshold must be >= 1, got {self.soft_word_threshold!r}")
        for key in ("domain_lists", "url_lists", "strict_word_lists", "hard_word_lists", "soft_word_lists",
                    "hq_domain_lists"):  # fmt: skip
            paths = getattr(self, key)
            if not isinstance(paths, tuple) or any(not isinstance(p, str) or not p for p in paths):
                raise ValueError(f"url_filter.{key} must be a tuple of paths, got {paths!r}")

    def _entries(self, kind: str, extra: tuple[str, ...]) -> list[str]:
        paths = ((os.path.join(DATA_DIR, DEFAULT_LISTS[kind]),) if self.use_default_lists else ()) + extra
        return [entry for path in paths for entry in read_lines(path)]

    def _words(self, kind: str, extra: tuple[str, ...]) -> frozenset[str]:
        words = frozenset(w.lower() for w in self._entries(kind, extra))
        bad = sorted(w for w in words if _PIECE_SPLIT.search(w))
        if bad:
            raise ValueError(f"url_filter {kind} words must be single alphanumeric pieces: {bad[:5]}")
        return words

    def setup(self) -> None:
        if "_domains" in self.__dict__:
            return
        strict = {_PIECE_SPLIT.sub("", w.lower()) for w in self._entries("strict", self.strict_word_lists)}
        self._set("_urls", frozenset(normalize_url(u) for u in self._entries("urls", self.url_lists)))
        self._set("_strict", trie_regex(sorted(filter(None, strict))))
        self._set("_hard", self._words("hard", self.hard_word_lists))
        self._set("_soft", self._words("soft", self.soft_word_lists))
        self._set("_hq", frozenset(normalize_host(d) for d in self._entries("hq", self.hq_domain_lists)))
        # Set last: its presence means the stage is ready.
        self._set("_domains", frozenset(normalize_host(d) for d in self._entries("domains", self.domain_lists)))

    def signals(self, url: str) -> dict[str, float]:
        if "_domains" not in self.__dict__:
            self.setup()
        parsed = get_tld(url, as_object=True, fail_silently=True)
        if parsed is not None:
            host, registered = parsed.parsed_url.hostname or "", parsed.fld
        else:  # an IP address, localhost, an unknown suffix, no scheme
            try:
                host = urlsplit(url if "://" in url else "http://" + url).hostname or ""
            except ValueError:
                host = ""
            registered = host
        host, registered = normalize_host(host), normalize_host(registered)
        hosts = _parents(host) if host else []
        domains = self._domains
        lowered = unquote(url).lower()
        pieces = set(_PIECE_SPLIT.split(lowered))
        strict = self._strict
        return {
            "domain": float(registered in domains),
            "subdomain": float(any(h in domains for h in hosts if len(h) > len(registered))),
            "exact": float(normalize_url(url) in self._urls),
            "strict_word": float(len(strict.findall(_PIECE_SPLIT.sub("", lowered)))) if strict else 0.0,
            "hard_word": float(len(pieces & self._hard)),
            "soft_words": float(len(pieces & self._soft)),
            "hq_source": float(any(h in self._hq for h in hosts)),
        }

    def measure(self, doc: Document) -> dict[str, float]:
        return self.signals(doc.url)
