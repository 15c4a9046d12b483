"""Generated pages for the extraction speed-up tests: random nesting of the tags trafilatura's
expressions test (HTML and its own converted names: list, item, head, quote), with class, id,
style and role values built from the tokens its patterns look for (and near misses: a token at
the start, the end, inside a word, in upper case, an empty value), links, headings and text, now
and then a control character."""
from __future__ import annotations

import random

TAGS = ("div", "section", "article", "main", "aside", "span", "p", "ul", "ol", "li", "list", "item",
        "details", "header", "footer", "nav", "table", "tr", "td", "figure", "blockquote", "quote",
        "head", "h1", "h2", "pre", "form", "a", "b", "em", "br", "img",
        # read as raw text or kept apart by the parser (readability's bound depends on them)
        "iframe", "noscript", "textarea", "title", "xmp", "noembed", "script", "style")
TOKENS = ("comment", "Comment", "commentary", "comments-list", "comment-list", "disqus_thread", "nav", "Nav",
          "navbar", "menu", "share-", "sharing", "social", "hidden", "hide", "hide-print", "noprint",
          "sidebar", "banner", "breadcrumb", "bread-crumb", "footer", "Footer", "author", "byline", "tags",
          "tag-list", "cookie", "consent", "widget", "elementor-widget", "elementor-share-buttons",
          "mvp-post-add-box", "mvp-post-add-wrap", "infinite-scroll", "infinitescroll", "teaser", "Teaser",
          "caption", "post-content", "article-body", "articleBody", "entry-content", "main", "main-content",
          "Main-Content", "content", "story", "fulltext", "FullText", "text", "bottom", "link", "ad-", " ad ",
          "x-ad-y", "meta", "related", "reply-", "akismet", "message", "premium", "", " ", "primary",
          "postContent", "article ", "page-content", "respond", "viral", "dfpAd", "slide", "overlay")
WORDS = ("the", "walk", "hills", "river", "morning", "bread", "village", "market", "stone", "bridge",
         "a", "of", "and", "with", "under", "light", "winter", "garden", "letter", "road")


def _attrs(rng: random.Random) -> str:
    out = []
    for name in ("class", "id", "style", "role", "aria-hidden", "itemprop"):
        if rng.random() < (0.55 if name in ("class", "id") else 0.12):
            if name == "style":
                value = rng.choice(("display:none", "display: none", "border: 1px", "color: red", "visibility:hidden"))
            elif name == "role":
                value = rng.choice(("navigation", "Navigation", "main", "article", "presentation"))
            elif name == "aria-hidden":
                value = rng.choice(("true", "false"))
            elif name == "itemprop":
                value = rng.choice(("articleBody", "author", "headline"))
            else:
                parts = rng.sample(TOKENS, rng.randint(1, 3))
                value = rng.choice((" ", "-", "_", "")).join(parts)
                if rng.random() < 0.2:
                    value = rng.choice(("x", "pre-", "")) + value + rng.choice(("", "-y", " z"))
            out.append(f' {name}="{value}"')
    return "".join(out)


def _text(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.05:  # control characters and non-characters, removed before parsing
        words.insert(rng.randint(0, n), rng.choice(("\x00", "\x0b", "\x1f", "\x7f", "\ufffe", "w\x08x")))
    return " ".join(words) + rng.choice((".", ",", "", ". A longer sentence follows, with commas, and a stop."))


def _element(rng: random.Random, depth: int) -> str:
    tag = rng.choice(TAGS)
    if tag in ("xmp", "noembed") and rng.random() < 0.7:  # rare on real pages: most pages hold none
        tag = "span"
    if tag in ("br", "img"):
        return f"<{tag}{_attrs(rng)}>" + (_text(rng, 3) if rng.random() < 0.5 else "")
    inner = []
    if rng.random() < 0.6:
        inner.append(_text(rng, rng.randint(1, 40)))
    if depth > 0:
        for _ in range(rng.randint(0, 4)):
            inner.append(_element(rng, depth - 1))
            if rng.random() < 0.3:
                inner.append(_text(rng, rng.randint(1, 12)))
    if rng.random() < 0.25:
        inner.append(f'<a href="https://example.com/{rng.randint(0, 99)}">{_text(rng, rng.randint(1, 6))}</a>')
    return f"<{tag}{_attrs(rng)}>{''.join(inner)}</{tag}>"


def hostile_page(seed: int) -> str:
    rng = random.Random(seed)
    body = "".join(_element(rng, rng.randint(2, 6)) for _ in range(rng.randint(2, 8)))
    return f"<!DOCTYPE html><html><head><title>t{seed}</title></head><body{_attrs(rng)}>{body}</body></html>"
