"""Exact-output speed-ups of trafilatura (``extract: {speedup: true}``): the same text, less CPU.

A profile of the extractor (py-spy over the helper processes, cc-sample) puts much of
trafilatura's time in ``prune_unwanted_nodes``: XPath expressions evaluated over every
element, many with EXSLT ``re:test(@class, '...')`` predicates. lxml implements ``re:test``
as a call back into Python for every element tested, even an element without the
attribute, where the test sees the empty string.

``guard`` rewrites ``re:test(@a, P)`` to ``((@a) and re:test(@a, P))`` (and
``re:test(@a|@b, P)`` to ``((@a or @b) and ...)``) when ``P`` cannot match the empty
string: without the attribute the test is false either way, so the expression selects the
same nodes and libxml2 skips the call. A pattern that matches the empty string is left
alone. ``install`` applies this to the compiled expressions in ``trafilatura.xpaths`` in
place (the lists are shared with the modules that use them) and returns an undo function.

Before the call, ``guard`` also tests the words one of which every match holds
(``required_words``: ``'^[Cc]omment(?!ary)|(?:article|post)-comments'`` needs ``omment`` or
``-comments``), as ``contains(@a, 'w')`` in C: a value holding none of them cannot match, so the
call is skipped; on a union ``@a|@b`` the words are looked for in either attribute (the test reads
one of them). Only done for case-sensitive patterns and at most ``MAX_WORD_TESTS`` contains()
(beyond that, they cost more than the call).

``split_by_tag`` rewrites ``.//*[self::div or self::p][P]`` to ``descendant::div[P] |
descendant::p[P]``: libxml2 then tests the tag while it walks the tree, in C, instead of
evaluating one ``self::`` location path per element (each a node-set allocated and freed),
and evaluates ``P`` on the elements of those tags only. The union is returned in document
order, so it is the same node-set in the same order. Only done when no predicate depends on
the position (``position()``, ``last()``, a number): ``.//*[T][P]`` filters each parent's
children, ``descendant::t[P]`` all descendants, and a predicate that is a boolean test gives
the same answer in either. A ``.//*[P]`` over every element whose top-level disjuncts each need
an attribute (``required_attributes``: an attribute test or comparison, ``contains`` or
``starts-with`` of one with a non-empty string, ``guard``'s form) becomes ``descendant::*[@a or
@b ...][P]``: most elements have none of them, and fail one cheap test. The expressions are
compiled with ``smart_strings=False``: their results are elements, and ``re:test`` then
receives each attribute value as a plain string instead of a "smart" string that builds a
Python proxy of the attribute's element first.

``c_lookup`` gives trafilatura's HTML parser a class lookup done in C: lxml.html's own is a
Python method (``HtmlElementClassLookup.lookup``) called each time lxml makes a Python object
for an element, millions of times over a few thousand pages. The C one (a namespace lookup
holding lxml.html's tag classes, over a default lookup holding its element, comment,
processing-instruction and entity classes) returns the same class for every node the HTML
parser makes (its tag names are lower case).

``ControlCharRemover`` stands in for ``trafilatura.utils.INVALID_XML_CHARS``, the character class
of C0 controls (not tab, newline, carriage return) and U+FFFE/U+FFFF that every page is cleaned of
before parsing: it deletes the same characters with ``bytes.translate`` over the page's UTF-8
(a byte below 0x20 in UTF-8 is always that character itself), twice as fast as the regex; a page
holding U+FFFE or U+FFFF, or any other use of the pattern, goes to the regex.

``readability_cannot_win`` skips the readability comparison (``fast: false``) where its result
cannot change the text. trafilatura's ``compare_extraction`` takes readability's text only when
``_prefer_readability`` says so, and for a non-empty own text outside recall mode that needs
readability's (trimmed) length ``L`` to exceed twice the own text's length, or ``L`` to exceed
twice ``min_extracted_size`` with an own body lacking paragraph text or holding more tables than
paragraphs. Readability only removes, moves in order and re-wraps the text of the tree it gets
(scripts and styles dropped, their tails kept; the tree is the raw page pruned, which removes
text too), except that a kept video iframe gets the text "VIDEO"; its output is serialised as
XML and parsed again as HTML, which gives back the same text except inside elements libxml2
reads as raw text (their ``&lt;`` stays four characters): script and style (dropped), iframe
(emptied or "VIDEO"), xmp, noembed, noframes, plaintext (a page holding one of these four is
never skipped). So ``L`` is at most the trimmed length of the page's text outside script, style
and fencedframe elements plus six characters per iframe; where that bound already rules
readability out, the comparison runs on an empty page instead (readability finds nothing, and the
jusText check that follows runs as before, on the same trees). The argument reads trafilatura's
code, so the skip is installed only where that code is the one it was checked against (a hash
of its sources: trafilatura 2.3.1).

Where that bound of the raw tree leaves readability in (precision mode), a second bound decides
after the pruning: ``compare_extraction`` prunes the raw tree (``OVERALL_DISCARD_XPATH``) and hands
readability the pruned tree, so the same argument holds with that tree's text, which is much less
(on cc-sample readability then runs on 163 of 972 pages instead of 492). ``_counting_prune`` does
that pruning, the same deletions in the same order, and counts the bound as it goes: the raw
tree's, less the texts (outside script, style and fencedframe, not the tail, which
``delete_element`` keeps) and iframes of each subtree it takes out of the tree; a kept tail joined
to another text can only join two words, so the count stays an upper bound. In front of
``try_readability``, where the bound rules readability out, it runs on an empty page instead, as
above. Tied to the hash of the pruning's and ``delete_element``'s sources as well.

``_compare_on_the_raw_tree`` stands in for ``trafilatura.core._extract_and_compare``: in precision
mode (``favor_precision``) it hands the comparison the raw tree itself instead of a copy. The
comparison prunes and rewrites the tree it gets, which is why trafilatura copies it; but in
precision mode nothing reads the raw tree after the comparison (``trafilatura_sequence``'s
baseline rescue and recall escalation run in other modes only, and ``bare_extraction`` only
reads what the sequence returns; a tree passed in by a caller was copied before it), so the copy,
a whole-page deep copy, is made for nothing. Other modes keep the copy. Tied to its sources'
hash (trafilatura 2.3.1) like the readability skip.

``parse_utf8`` stands in for ``lxml.html.fromstring`` where trafilatura's ``load_html`` parses a
page given as a str with its parser: it parses the page's UTF-8 bytes instead. For a str, lxml
hands libxml2 the string's internal buffer (Latin-1, UTF-16 or UCS-4, by its widest character)
with that encoding named, and libxml2 converts it all to UTF-8 before its tokenizer reads it;
the bytes skip that conversion (on cc-sample 0.86 instead of 1.3 ms of parsing per page). The
parser names its own encoding (utf-8), so either way a ``<meta charset>`` in the page is not
followed. A str with an XML encoding declaration is refused by lxml (ValueError), and
``load_html`` then parses its UTF-8 bytes: the same call as here. A str holding a lone surrogate
has no UTF-8 form and is parsed as a str, as before. Tied to the hash of ``load_html``'s and
``fromstring_bytes``'s sources (trafilatura 2.3.1).

Checked by tests/filters/extract/test_speedup.py (identical output on the bundled sample and
generated pages, the same nodes selected) and ``bench/bench_extract.py`` (identical on all
cc-sample pages, and the time saved).
"""
from __future__ import annotations

import re
import threading
from typing import Callable

REGEXP_NS = "http://exslt.org/regular-expressions"
# re:test(ARG, 'PATTERN'[, 'FLAGS']) where ARG is one attribute or a union of attributes
_RE_TEST = re.compile(r"re:test\((@[\w:-]+(?:\s*\|\s*@[\w:-]+)*)\s*,\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)")


def _guard_call(m: re.Match) -> str:
    attrs, pattern, flags = m.group(1), m.group(2), m.group(3) or ""
    try:
        matches_empty = re.search(pattern, "", re.IGNORECASE if "i" in flags else 0) is not None
    except re.error:
        return m.group(0)  # not a Python regex we can reason about: leave it
    if matches_empty:
        return m.group(0)
    names = [a.strip() for a in attrs.split("|")]
    present = " or ".join(names)
    words = required_words(pattern, flags)
    if words is None or len(words) * len(names) > MAX_WORD_TESTS:
        return f"(({present}) and {m.group(0)})"
    quoted = [f"'{w}'" if "'" not in w else f'"{w}"' for w in sorted(words)]
    holds = " or ".join(f"contains({a}, {w})" for a in names for w in quoted)
    return f"(({present}) and ({holds}) and {m.group(0)})"


# at most this many contains() before a re:test: each costs less than lxml's call back into
# Python for the test, but dozens of them cost more
MAX_WORD_TESTS = 12


def required_words(pattern: str, flags: str = "") -> set[str] | None:
    """Words one of which every match of ``pattern`` holds (as lxml's re:test compiles it:
    case-sensitive without an ``i`` flag); None where none is known (case-insensitive, a
    branch without a literal). ``'^[Cc]omment|post-comments'`` gives ``{'omment', 'post-comments'}``."""
    if "i" in flags or any(q in pattern for q in ("'", '"')):
        return None
    try:
        from re import _constants as c, _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    return _sequence_words(list(parsed), c)


def _sequence_words(items: list, c) -> set[str] | None:
    """The smallest word set required by one item of a sequence (a run of literals, a group,
    an alternation each branch of which requires words, a repeat at least once); ``c`` holds
    the regex parser's opcodes."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, av in items + [(None, None)]:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        found = None
        if op is c.SUBPATTERN and not av[1] & re.IGNORECASE:
            found = _sequence_words(list(av[3]), c)
        elif op is c.BRANCH:
            branches = [_sequence_words(list(b), c) for b in av[1]]
            if all(b is not None for b in branches):
                found = set().union(*branches)  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            found = _sequence_words(list(av[2]), c)
        if found:
            candidates.append(found)
    if not candidates:
        return None
    return min(candidates, key=lambda words: (len(words), -min(map(len, words))))


def guard(path: str) -> str:
    """``path`` with every guardable ``re:test`` on attributes behind an existence test."""
    return _RE_TEST.sub(_guard_call, path)


_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")
_TAG_TEST = re.compile(r"\s*self::([A-Za-z_][\w-]*)(?:\s+or\s+self::([A-Za-z_][\w-]*))*\s*")
# what can make a predicate's value a number or depend on the position (checked outside literals)
_POSITIONAL = re.compile(r"(?<![\w-])\d|[+*]|(?<![\w:@/-])(?:div|mod)(?![\w:-])|\s-|-\s|\b(?:position|last|count|number|sum|"
                         r"string-length|floor|ceiling|round)\s*\(")


def _close(path: str, i: int) -> int:
    """Index just past the bracket or parenthesis that closes the one at ``path[i]``."""
    pairs = {"[": "]", "(": ")"}
    depth: list[str] = []
    while i < len(path):
        c = path[i]
        if c in "'\"":
            end = path.find(c, i + 1)
            if end < 0:
                raise ValueError("unclosed literal")
            i = end
        elif c in pairs:
            depth.append(pairs[c])
        elif c in ")]":
            if not depth or depth.pop() != c:
                raise ValueError("unbalanced")
            if not depth:
                return i + 1
        i += 1
    raise ValueError("unbalanced")


def _split_top(text: str, sep: str = "|") -> list[str]:
    """``text`` split at ``sep`` outside literals, brackets and parentheses; a word separator
    (``or``) counts only between spaces."""
    word = sep.isalpha()
    parts, start, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c in "'\"":
            i = text.index(c, i + 1)
        elif c in "[(":
            i = _close(text, i) - 1
        elif text.startswith(sep, i) and (not word or (text[i - 1:i].isspace()
                                                        and text[i + len(sep):i + len(sep) + 1].isspace())):
            parts.append(text[start:i])
            start = i + len(sep)
        i += 1
    parts.append(text[start:])
    return parts


def _predicates(rest: str) -> list[str] | None:
    """``[A][B]...`` as ``["A", "B", ...]``; None if ``rest`` is anything else."""
    preds, i = [], 0
    rest = rest.strip()
    while i < len(rest):
        if rest[i] != "[":
            return None
        end = _close(rest, i)
        preds.append(rest[i + 1:end - 1])
        i = end
        while i < len(rest) and rest[i].isspace():
            i += 1
    return preds


def _split_branch(branch: str) -> str:
    text = branch.strip()
    if text.startswith("("):  # (X)S: X's node-set is the same, so S sees the same input
        end = _close(text, 0)
        inner = split_by_tag(text[1:end - 1])
        return branch if inner == text[1:end - 1] else f"({inner}){text[end:]}"
    if not text.startswith(".//*["):
        return branch
    preds = _predicates(text[4:])
    if not preds:
        return branch
    tags = ["*"]
    if (m := _TAG_TEST.fullmatch(preds[0])) is not None:
        tags = re.findall(r"self::([A-Za-z_][\w-]*)", preds[0])
        preds = preds[1:]
    if any(_POSITIONAL.search(_LITERAL.sub("''", p)) for p in preds):
        return branch
    tail = "".join(f"[{p}]" for p in preds)
    if tags == ["*"] and len(preds) == 1 and (names := required_attributes(preds[0])):
        tail = f"[{' or '.join(names)}]{tail}"  # most elements have none: one cheap test for them
    return " | ".join(f"descendant::{tag}{tail}" for tag in tags)


_ATTR = r"@[A-Za-z_][\w:.-]*"
# disjuncts false on an element without the attributes they name
_NEEDS_ATTRIBUTES = [
    re.compile(rf"({_ATTR})(?:\s*=\s*(?:'[^']*'|\"[^\"]*\"))?"),
    re.compile(rf"(?:contains|starts-with)\(\s*({_ATTR}(?:\s*\|\s*{_ATTR})*|translate\(\s*{_ATTR}\s*,\s*'[^']*'\s*,"
               rf"\s*'[^']*'\s*\))\s*,\s*(?:'[^']+'|\"[^\"]+\")\s*\)"),
]


def _split_or(predicate: str) -> list[str]:
    """``predicate`` split at its top-level ``or``s (outside literals, brackets, parentheses)."""
    return [p.strip() for p in _split_top(predicate, "or")]


def required_attributes(predicate: str) -> list[str] | None:
    """Attributes one of which an element needs for ``predicate`` to hold: each top-level
    disjunct is an attribute test, a comparison of one, ``contains``/``starts-with`` of one
    (or of its ``translate``) with a non-empty string, or ``guard()``'s ``((@a or @b) and ...)``;
    None where a disjunct is anything else."""
    names: list[str] = []
    for part in _split_or(predicate):
        needed = _guarded_attributes(part)
        for form in _NEEDS_ATTRIBUTES:
            if needed is None and (m := form.fullmatch(part)) is not None:
                needed = m.group(1)
        if needed is None:
            return None
        names.extend(n for n in re.findall(_ATTR, needed) if n not in names)
    return names


def _guarded_attributes(part: str) -> str | None:
    """``@a or @b`` of a disjunct ``((@a or @b) and REST)`` (guard()'s form), REST without a
    top-level ``or``; None for anything else."""
    if not part.startswith("((") or _close(part, 0) != len(part):
        return None
    inner = part[1:-1]
    head_end = _close(inner, 0)
    head, rest = inner[1:head_end - 1], inner[head_end:]
    if not re.fullmatch(rf"\s*{_ATTR}(?:\s+or\s+{_ATTR})*\s*", head) or not re.match(r"\s+and\s", rest) \
            or len(_split_or(inner)) != 1:
        return None
    return head


def split_by_tag(path: str) -> str:
    """``path`` with every ``.//*[self::a or self::b][P]`` as ``descendant::a[P] |
    descendant::b[P]`` (and ``.//*[P]`` as ``descendant::*[P]``) where no predicate depends
    on the position; anything else unchanged."""
    try:
        branches = _split_top(path)
        new = [_split_branch(b) for b in branches]
    except ValueError:
        return path
    return path if new == branches else " | ".join(b.strip() for b in new)


def rewrite(path: str) -> str:
    """Both rewrites: ``split_by_tag(guard(path))``."""
    return split_by_tag(guard(path))


# a result that can be something else than elements (text, attributes, a value)
_NON_ELEMENT = re.compile(r"text\(\)|comment\(\)|node\(\)|processing-instruction|@[\w*:-]+\s*(?:\||$)|^\s*[\w-]+\(")


def selects_elements(path: str) -> bool:
    """True when ``path``'s result can only be elements (so smart strings play no part)."""
    return all(not _NON_ELEMENT.search(_strip_predicates(b)) for b in _split_top(path))


def _strip_predicates(branch: str) -> str:
    out, i = [], 0
    while i < len(branch):
        if branch[i] == "[":
            i = _close(branch, i)
            continue
        out.append(branch[i])
        i += 1
    return "".join(out).strip()


def _prefixes(path: str) -> set[str]:
    """Namespace prefixes used in ``path`` (we recompile with ``re`` bound, nothing else)."""
    return set(re.findall(r"(?<![:\w-])([A-Za-z_][\w-]*):(?!:)", re.sub(r"'[^']*'", "''", path)))


def c_lookup():
    """A C-level element class lookup giving lxml.html's classes (``HtmlElementClassLookup``'s
    defaults: form, input, select, textarea and label elements have their own)."""
    from lxml import etree
    from lxml import html as lxml_html

    default = etree.ElementDefaultClassLookup(element=lxml_html.HtmlElement, comment=lxml_html.HtmlComment,
                                              pi=lxml_html.HtmlProcessingInstruction, entity=lxml_html.HtmlEntity)
    lookup = etree.ElementNamespaceClassLookup(default)
    tags = lookup.get_namespace(None)
    for tag, cls in lxml_html.HtmlElementClassLookup._default_element_classes.items():
        tags[tag] = cls
    return lookup


class ControlCharRemover:
    """``pattern.sub("", page)`` for trafilatura's ``INVALID_XML_CHARS`` (``[\\x00-\\x08\\x0b\\x0c
    \\x0e-\\x1f\\ufffe\\uffff]``), done with ``bytes.translate``; everything else is the pattern's."""

    _DELETE = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))

    def __init__(self, pattern: re.Pattern) -> None:
        self.pattern_object = pattern

    @classmethod
    def handles(cls, pattern: object) -> bool:
        return isinstance(pattern, re.Pattern) and pattern.pattern == r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]" \
            and pattern.flags == re.UNICODE

    def sub(self, repl, string, count=0):
        if repl != "" or count != 0 or type(string) is not str or "\ufffe" in string or "\uffff" in string:
            return self.pattern_object.sub(repl, string, count)
        data = string.encode("utf-8", "surrogatepass")
        kept = data.translate(None, self._DELETE)
        return string if len(kept) == len(data) else kept.decode("utf-8", "surrogatepass")

    def __getattr__(self, name: str):
        return getattr(self.pattern_object, name)


# elements libxml2's HTML parser reads as raw text that readability neither drops nor empties
_RAW_TEXT_KEPT = ("xmp", "noembed", "noframes", "plaintext")
_READABILITY_DROPS = ("script", "style", "fencedframe")
_EMPTY_PAGE = "<html><body></body></html>"
_TEXTS = None  # compiled on first use


def _chars_and_words(texts: list[str]) -> tuple[int, int]:
    """Non-space characters and words of ``" ".join(texts)``: additive over the texts, as the
    join puts a space between any two of them."""
    words = " ".join(texts).split()
    return len("".join(words)), len(words)


def readability_bound(raw_tree) -> int | None:
    """An upper bound of the length of readability's trimmed text on ``raw_tree`` (module
    docstring); None where none is known (a raw-text element readability keeps).

    The length of ``" ".join(" ".join(T).split())``, T the texts outside script, style and
    fencedframe elements, is its non-space characters plus its words less one. Both are those
    of all the texts less those of the texts inside the outermost dropped elements: each text
    is taken once, in C, instead of testing every text's ancestors in an XPath predicate."""
    parts = _bound_parts(raw_tree)
    return None if parts is None else _bound_of(parts)


def _bound_parts(raw_tree) -> tuple[int, int, int] | None:
    """(non-space characters, words, six per iframe) of ``readability_bound``; None as there."""
    for _ in raw_tree.iter(*_RAW_TEXT_KEPT):
        return None
    return (*_outside_counts(raw_tree), 6 * sum(1 for _ in raw_tree.iter("iframe")))


def _bound_of(parts: tuple[int, int, int]) -> int:
    chars, words, iframes = parts
    return (chars + words - 1 if words else 0) + iframes


def _outside_counts(elem) -> tuple[int, int]:
    """Non-space characters and words of the texts inside ``elem`` (not its tail) that are
    outside script, style and fencedframe elements."""
    if next(elem.iterancestors(*_READABILITY_DROPS), None) is not None:
        return 0, 0  # every text is inside a dropped element
    global _TEXTS
    if _TEXTS is None:
        from lxml.etree import XPath

        _TEXTS = XPath(".//text()", smart_strings=False)
    chars, words = _chars_and_words(_TEXTS(elem))
    for dropped in elem.iter(*_READABILITY_DROPS):
        if next(dropped.iterancestors(*_READABILITY_DROPS), None) is None:  # the outermost only
            dropped_chars, dropped_words = _chars_and_words(_TEXTS(dropped))
            chars, words = chars - dropped_chars, words - dropped_words
    return chars, words


def readability_cannot_win(raw_tree, body, text: str, options, bound: int | None = None) -> bool:
    """True where trafilatura's ``_prefer_readability`` is False whatever readability returns
    (``bound``: ``readability_bound(raw_tree)`` if given)."""
    if options.focus == "recall" or not text:
        return False
    if bound is None:
        bound = readability_bound(raw_tree)
    if bound is None or bound > 2 * len(text):
        return False
    if bound <= 2 * options.min_extracted_size:
        return True
    # the own body's structural test, as _prefer_readability makes it
    deficient = not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(body.findall(".//p"))
    return not deficient


# The argument above reads trafilatura's code: it holds for the code it was checked against
# (trafilatura 2.3.1), so the skip is installed only where these sources are that code.
READABILITY_SKIP_CHECKED = "703563ac3c66d5053950c51af17a3b2ee45676c97661d3777700e2b57d6806fa"


def _sources_hash(objects: Callable[[], tuple]) -> str | None:
    """sha256 of the source code of ``objects()`` (None where a source is not found)."""
    import hashlib
    import inspect

    try:
        source = "".join(inspect.getsource(o) for o in objects())
    except (OSError, TypeError, AttributeError):
        return None
    return hashlib.sha256(source.encode()).hexdigest()


def readability_skip_applies() -> bool:
    """True when trafilatura's comparison and readability are the code the skip was checked against."""
    from trafilatura import core, external, readability_lxml

    return _sources_hash(lambda: (core._extract_and_compare, external.compare_extraction, external._prefer_readability,
                                  external.try_readability, readability_lxml)) == READABILITY_SKIP_CHECKED


# The raw tree's last reader in precision mode is the comparison: read in trafilatura 2.3.1's
# _extract_and_compare, trafilatura_sequence (its only caller in precision mode) and bare_extraction.
RAW_COPY_SKIP_CHECKED = "64991469d214c0c35894efb782b39041c088ec869c9796e6511d80d93a33e335"


# The second skip also reads the pruning of the raw tree in compare_extraction (the deletions it
# repeats, and delete_element, which keeps tails: text moves, joined to another text, never into a
# dropped element) and try_readability, the call it stands in front of (trafilatura 2.3.1).
PRUNED_SKIP_CHECKED = "35667001035c55eda30e1d7394a7ddff7b3e780ce9a92f160fd5afa907d79c0c"


def pruned_skip_applies() -> bool:
    """True when the code the second readability skip reads is the code it was checked against."""
    from trafilatura import external, htmlprocessing, xml

    return readability_skip_applies() and _sources_hash(
        lambda: (htmlprocessing.prune_unwanted_nodes, xml.delete_element, external.compare_extraction,
                 external.try_readability)) == PRUNED_SKIP_CHECKED


def raw_copy_skip_applies() -> bool:
    """True when the code that reads the raw tree is the code ``_compare_on_the_raw_tree`` was checked against."""
    from trafilatura import core

    return _sources_hash(lambda: (core._extract_and_compare, core._recall_retry, core.trafilatura_sequence,
                                  core.bare_extraction)) == RAW_COPY_SKIP_CHECKED


def _compare_on_the_raw_tree(cleaned_tree, cleaned_tree_backup, tree, options):
    """``trafilatura.core._extract_and_compare`` without its copy of the raw tree in precision
    mode (module docstring); the same code otherwise."""
    from copy import copy

    from trafilatura import core

    postbody, temp_text = core.extract_content(cleaned_tree, options)
    if not options.fast:
        raw_tree = tree if options.focus == "precision" else copy(tree)
        postbody, temp_text = core.compare_extraction(cleaned_tree_backup, raw_tree, postbody, temp_text, options)
    return postbody, temp_text


class _Comparison:
    """The comparison under way in this thread, for the second readability skip: its raw tree,
    the parts of that tree's bound, and what ``readability_cannot_win`` reads."""

    def __init__(self, tree, parts: tuple[int, int, int], body, text: str, options) -> None:
        self.tree, self.parts, self.body, self.text, self.options = tree, parts, body, text, options
        self.pruned = False


_COMPARING = threading.local()


def _skipping_compare(compare: Callable, after_pruning: bool = False) -> Callable:
    from trafilatura.utils import load_html

    def compare_extraction(cleaned_tree, raw_tree, body, text, options):
        parts = _bound_parts(raw_tree)
        if readability_cannot_win(raw_tree, body, text, options, None if parts is None else _bound_of(parts)):
            raw_tree = load_html(_EMPTY_PAGE)
        elif after_pruning and parts is not None and options.focus == "precision" and text:
            _COMPARING.now = _Comparison(raw_tree, parts, body, text, options)
        try:
            return compare(cleaned_tree, raw_tree, body, text, options)
        finally:
            _COMPARING.now = None

    compare_extraction.skips = compare  # type: ignore[attr-defined]
    return compare_extraction


def _counting_prune(prune: Callable) -> Callable:
    """``prune_unwanted_nodes`` for ``compare_extraction``'s pruning of the raw tree: the same
    deletions, in the same order, and the texts they take away from the tree's bound counted."""
    from trafilatura import xpaths
    from trafilatura.xml import delete_element

    def prune_unwanted_nodes(tree, nodelist, with_backup=False):
        now = getattr(_COMPARING, "now", None)
        if now is None or tree is not now.tree or with_backup or nodelist is not xpaths.OVERALL_DISCARD_XPATH:
            return prune(tree, nodelist, with_backup)
        chars, words, iframes = now.parts
        for expression in nodelist:
            for subtree in expression(tree):
                if subtree.getparent() is not None and tree in subtree.iterancestors():  # still in the tree
                    taken_chars, taken_words = _outside_counts(subtree)
                    chars, words = chars - taken_chars, words - taken_words
                    iframes -= 6 * sum(1 for _ in subtree.iter("iframe"))
                delete_element(subtree)  # the tail text is preserved
        now.parts, now.pruned = (chars, words, iframes), True
        return tree

    prune_unwanted_nodes.counts = prune  # type: ignore[attr-defined]
    return prune_unwanted_nodes


def _skipping_readability(try_readability: Callable) -> Callable:
    """``try_readability`` on an empty page where the pruned raw tree's bound already rules its
    text out (``_counting_prune``)."""
    from trafilatura.utils import load_html

    def skipping_try_readability(htmlinput):
        now = getattr(_COMPARING, "now", None)
        if now is not None and htmlinput is now.tree and now.pruned:
            _COMPARING.now = None
            if readability_cannot_win(htmlinput, now.body, now.text, now.options, _bound_of(now.parts)):
                htmlinput = load_html(_EMPTY_PAGE)
        return try_readability(htmlinput)

    skipping_try_readability.skips = try_readability  # type: ignore[attr-defined]
    return skipping_try_readability


# load_html and fromstring_bytes as read for parse_utf8 (trafilatura 2.3.1).
UTF8_PARSE_CHECKED = "68c59a79ad19fc82c00e4fe085ce75667e280005ca72175e1c751609c3ed5d93"


def utf8_parse_applies() -> bool:
    """True when trafilatura's page loading is the code ``parse_utf8`` was checked against."""
    from trafilatura import utils

    return _sources_hash(lambda: (utils.load_html, utils.fromstring_bytes)) == UTF8_PARSE_CHECKED


def parse_utf8(fromstring: Callable, parser) -> Callable:
    """``fromstring`` that parses a str given with ``parser`` as its UTF-8 bytes (module docstring)."""

    def parse(html, *args, **kwargs):
        if type(html) is str and kwargs.get("parser") is parser and not args:
            try:
                data = html.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the str, as before
                pass
            else:
                return fromstring(data, **kwargs)
        return fromstring(html, *args, **kwargs)

    parse.parses = fromstring  # type: ignore[attr-defined]
    return parse


_undo: Callable[[], None] | None = None


def install() -> Callable[[], None]:
    """Install the speed-ups in trafilatura's modules (once per process); returns a function
    that takes them out again."""
    global _undo
    if _undo is None:
        _undo = _rewrite()
    return uninstall


def uninstall() -> None:
    global _undo
    if _undo is not None:
        _undo()
        _undo = None


def _rewrite() -> Callable[[], None]:
    from lxml.etree import XPath
    from trafilatura import xpaths

    replaced: list[tuple[list, int, object]] = []
    for value in vars(xpaths).values():
        if not isinstance(value, list):
            continue
        for i, expr in enumerate(value):
            if not isinstance(expr, XPath) or not _prefixes(expr.path) <= {"re"}:
                continue
            new_path = rewrite(expr.path)
            if new_path != expr.path or selects_elements(expr.path):
                replaced.append((value, i, expr))
                value[i] = XPath(new_path, namespaces={"re": REGEXP_NS}, smart_strings=not selects_elements(expr.path))

    from lxml import html as lxml_html
    from trafilatura import utils

    parser = utils.HTML_PARSER
    if isinstance(parser, lxml_html.HTMLParser):  # whose lookup is HtmlElementClassLookup()
        parser.set_element_class_lookup(c_lookup())

    from trafilatura import core

    compare = core.compare_extraction
    from trafilatura import external

    prune, try_readability = external.prune_unwanted_nodes, external.try_readability
    if not hasattr(compare, "skips") and readability_skip_applies():
        after_pruning = pruned_skip_applies()
        core.compare_extraction = _skipping_compare(compare, after_pruning)
        if after_pruning:
            external.prune_unwanted_nodes = _counting_prune(prune)
            external.try_readability = _skipping_readability(try_readability)

    extract_and_compare = core._extract_and_compare
    if extract_and_compare is not _compare_on_the_raw_tree and raw_copy_skip_applies():
        core._extract_and_compare = _compare_on_the_raw_tree

    control = utils.INVALID_XML_CHARS
    if ControlCharRemover.handles(control):
        utils.INVALID_XML_CHARS = ControlCharRemover(control)

    fromstring = utils.fromstring
    if not hasattr(fromstring, "parses") and utf8_parse_applies():
        utils.fromstring = parse_utf8(fromstring, utils.HTML_PARSER)

    def undo() -> None:
        for lst, i, expr in replaced:
            lst[i] = expr
        if utils.INVALID_XML_CHARS is not control:
            utils.INVALID_XML_CHARS = control
        utils.fromstring = fromstring
        core.compare_extraction = compare
        external.prune_unwanted_nodes, external.try_readability = prune, try_readability
        core._extract_and_compare = extract_and_compare
        if isinstance(parser, lxml_html.HTMLParser):
            parser.set_element_class_lookup(lxml_html.HtmlElementClassLookup())

    return undo
