"""url_dedup: one document per normalised URL (docs/rules.md, Deduplication).

Normalisation: scheme and host lowercased (they are case-insensitive by RFC 3986);
the fragment dropped (never sent to the server, so it never changes the page); the
default port (:80 for http, :443 for https) dropped and an empty path written "/"
(both denote the same resource). Path and query keep their case (servers may treat
them case-sensitively); ``lowercase_path`` switches that off. User info is kept.

Survivor: the latest crawl date by default (fresher content), configurable
to ``earliest``; ties: smallest id. Documents without a URL are never grouped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from webrefine.dedup.select import check_rule
from webrefine.filters.stage import GlobalStage

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str, lowercase_path: bool = False) -> str:
    """The dedup key of ``url`` ("" when it has none)."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # malformed port or IPv6 literal: keep it whole, only drop the fragment
        base = url.split("#", 1)[0]
        return base.lower() if lowercase_path else base
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    host = hostport.lower()
    if port is not None and _DEFAULT_PORTS.get(scheme) == port:
        host = host.rsplit(":", 1)[0]
    netloc = userinfo + at + host
    path = parts.path or ("/" if netloc else "")
    query = parts.query
    if lowercase_path:
        path, query = path.lower(), query.lower()
    return urlunsplit((scheme, netloc, path, query, ""))


@dataclass(frozen=True)
class UrlDedup(GlobalStage):
    """Drop every document whose normalised URL was kept for a better-ranked document."""

    name: ClassVar[str] = "url_dedup"
    reasons: ClassVar[tuple[str, ...]] = ("url_dedup.duplicate",)

    survivor: str = "latest"  # latest | earliest (by date; ties: smallest id)
    lowercase_path: bool = False

    def __post_init__(self) -> None:
        check_rule(self.survivor, self.name)

    def key(self, url: str) -> str:
        return normalise_url(url, self.lowercase_path)
