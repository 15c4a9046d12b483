"""filters/extract/speedup.py: the rewritten XPaths select the same nodes and trafilatura
gives the same text with them as without, on the bundled sample and on generated pages."""
import re

import pytest
from lxml import html as lxml_html
from lxml.etree import XPath

from webrefine.filters.extract import speedup as extract_speedup
from webrefine.filters.extract.speedup import (MAX_WORD_TESTS, REGEXP_NS, guard, required_attributes, required_words,
                                               rewrite, selects_elements, split_by_tag)
from webrefine.pipeline.cli import SAMPLE
from webrefine.pipeline.config import ReadConfig
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.io.warc import read_warc
from tests.filters.extract.hostile_html import hostile_page


def test_guard_adds_an_existence_test_only_where_the_pattern_cannot_match_nothing():
    # with the words one of which any match holds, tested in C before the call into Python
    assert guard("re:test(@class, 'nav|menu')") == \
        "((@class) and (contains(@class, 'menu') or contains(@class, 'nav')) and re:test(@class, 'nav|menu'))"
    assert guard("re:test(@id|@class, '^shar')") == \
        "((@id or @class) and (contains(@id, 'shar') or contains(@class, 'shar')) and re:test(@id|@class, '^shar'))"
    assert guard("re:test(@id, 'NAV', 'i')") == "((@id) and re:test(@id, 'NAV', 'i'))"  # no words: case-insensitive
    many = "|".join(f"{chr(97 + i)}{i}" for i in range(MAX_WORD_TESTS + 1))  # more words than pay
    assert guard(f"re:test(@id, '{many}')") == f"((@id) and re:test(@id, '{many}'))"
    for unchanged in ("re:test(@class, 'a*')", "re:test(@id, '^|x')", "re:test(@id, '(')",  # bad regex
                      "re:test(string(.), 'x')", "contains(@class, 'x')"):
        assert guard(unchanged) == unchanged


@pytest.mark.parametrize("pattern", ["nav|menu", "^a", "b$", "(^|\\s)c(\\s|$)", "x*y"])
def test_guarded_expressions_select_the_same_elements(pattern):
    doc = lxml_html.fromstring(
        "<div><p class='nav x'>1</p><p>2</p><p id='menu' class='c'>3</p><span class='a b'>4</span>"
        "<span class=''>5</span><p id='xy' class='b'>6</p><div class='c d'><p class='y'>7</p></div></div>"
    )
    for arg in ("@class", "@id", "@id|@class"):
        path = f".//*[re:test({arg}, '{pattern}') or self::span]"
        plain, guarded = (XPath(p, namespaces={"re": REGEXP_NS})(doc) for p in (path, guard(path)))
        assert guarded == plain


@pytest.mark.parametrize("pattern, words", [
    ("cookie", {"cookie"}),
    ("^[Cc]omment(?!ary)|(?:article|post)-comments", {"omment", "-comments"}),
    ("^(?:[Cc]omment(?!ary)|comol|dsq-comments)", {"omment", "comol", "dsq-comments"}),
    ("(^|\\s)bottom|bottom(\\s|$)", {"bottom"}),
    ("bread-?crumb|nav", {"bread", "nav"}),  # the longer of a branch's runs is not needed, one is
    ("x{2,3}yz", {"yz"}),  # the longer word of equally many
    ("(?:ab)+", {"ab"}),
    ("a*|b", None),  # a branch needing nothing
    ("[ab]c?", None),
    ("(?i)abc", None), ("abc(?i:d)", {"abc"}),  # case-insensitive: no words, or not that group's
    ("it's", None),  # a quote cannot go in the XPath literal
    ("(", None),
])
def test_required_words(pattern, words):
    assert required_words(pattern) == words
    assert required_words(pattern, "i") is None


def test_every_match_of_a_pattern_holds_one_of_its_words():
    import random

    rng = random.Random(3)
    patterns = ["^[Cc]omment(?!ary)|(?:article|post)-comments", "bread-?crumb|nav(?:bar|box)|^ad-", "(^|\\s)link(\\s|$)",
                "x{2,3}y|z+q", "mvp-post-add-(?:box|wrap)|infinite-?scroll"]
    alphabet = list("abcdefilmnopqrstuvwxyzCA-_ ") + ["comment", "nav", "bar", "bread", "crumb", "link", "post", "ad-",
                                                       "scroll", "infinite", "mvp-post-add-box", "xxy", "zzq"]
    strings = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(20000)]
    for pattern in patterns:
        words = required_words(pattern)
        compiled = re.compile(pattern)
        matched = [s for s in strings if compiled.search(s)]
        assert len(matched) >= 20, pattern
        assert all(any(w in s for w in words) for s in matched), pattern


def test_required_attributes():
    assert required_attributes("@a='' or starts-with(@b|@c, 'x') or contains(translate(@d, 'N', 'n'), 'nav') "
                               "or ((@e or @f) and g(x)) or @a") == ["@a", "@b", "@c", "@d", "@e", "@f"]
    for other in ("@a or f(@c)", "not(@b)", "contains(@b, '')", "((@a) and x) != (y)", "((@a) and x or y)",
                  "@a or .//p", "string-length(@a) > 0"):
        assert required_attributes(other) is None


def test_a_test_of_every_element_is_behind_a_test_of_the_attributes_it_needs():
    assert split_by_tag(".//*[@a='x' or contains(@b, 'y')]") == "descendant::*[@a or @b][@a='x' or contains(@b, 'y')]"
    assert split_by_tag(".//*[@a='x' or f(.)]") == "descendant::*[@a='x' or f(.)]"
    assert split_by_tag(".//*[self::p][@a]") == "descendant::p[@a]"  # a tag step is left as it was


def test_split_by_tag_turns_a_tag_test_into_one_step_per_tag():
    assert split_by_tag(".//*[self::div or self::p][@class='x']") == "descendant::div[@class='x'] | descendant::p[@class='x']"
    assert split_by_tag(".//*[self::div][@a][not(.//h1)]") == "descendant::div[@a][not(.//h1)]"
    assert split_by_tag(".//*[@class='x' or self::p]") == "descendant::*[@class='x' or self::p]"
    assert split_by_tag("(.//*[self::a or self::b][@c])[1]|(.//main)[1]") == \
        "(descendant::a[@c] | descendant::b[@c])[1] | (.//main)[1]"
    assert split_by_tag(".//*[self::div]") == "descendant::div"
    # the literal's brackets, bars and digits are text
    assert split_by_tag(".//*[self::p][contains(@c, 'a]|[1')]") == "descendant::p[contains(@c, 'a]|[1')]"


@pytest.mark.parametrize("path", [
    ".//*[self::div][1]",  # the first div child of each parent, not the first div
    ".//*[self::div or self::p][@c][1]",
    ".//*[self::div][position() < 3]",
    ".//*[self::div][last()]",
    ".//*[@c][count(p) > 0]",
    ".//*[self::div][@x - 1]",
    ".//*[self::div][@x div 2]",
    ".//*[self::div]//span[@x]",  # a second step: not the form this handles
    ".//p[@c]",
    "//*[self::div][@c]",
    ".//*[self::div][@c",  # malformed: left for lxml to reject
])
def test_split_by_tag_leaves_positional_or_other_paths_alone(path):
    assert split_by_tag(path) == path


def test_selects_elements():
    assert all(map(selects_elements, [".//a[@href]", ".//*[self::div][@c]", "(.//article)[1]|(.//main)[1]",
                                      ".//*[text()='x']", "//time|//figure"]))
    assert not any(map(selects_elements, ["//p//text()", ".//@class", "string(.)", ".//a/@href | .//b",
                                          "count(.//a)", ".//node()"]))


def sample_pages() -> list[str]:
    return [doc.html for doc in read_warc(lambda: open(SAMPLE, "rb"), SAMPLE, ReadConfig(), Tally()) if doc.html]


def trafilatura_expressions():
    from trafilatura import xpaths

    return [(name, i, expr) for name, value in vars(xpaths).items() if isinstance(value, list)
            for i, expr in enumerate(value) if isinstance(expr, XPath)]


def test_every_rewritten_trafilatura_expression_selects_the_same_elements():
    """On the sample pages and generated ones, as parsed and after trafilatura's tag conversion
    (its expressions also run on trees with list/item/head elements)."""
    from trafilatura.htmlprocessing import convert_tags, tree_cleaning
    from trafilatura.settings import Extractor
    from trafilatura.utils import load_html

    extract_speedup.uninstall()
    trees = []
    for html in sample_pages() + [hostile_page(seed) for seed in range(150)]:
        tree = load_html(html)
        if tree is not None:
            trees.append(tree)
            trees.append(convert_tags(tree_cleaning(lxml_html.fromstring(lxml_html.tostring(tree)),
                                                    Extractor(precision=True)), Extractor(precision=True)))
    changed = 0
    for name, i, expr in trafilatura_expressions():
        new_path = rewrite(expr.path)
        if new_path == expr.path:
            continue
        changed += 1
        fast = XPath(new_path, namespaces={"re": REGEXP_NS}, smart_strings=False)
        for tree in trees:
            assert fast(tree) == expr(tree), (name, i)
    assert changed >= 10


def test_trafilatura_output_is_identical_with_the_speedup():
    import trafilatura

    from webrefine.filters.extract import Extract

    options = Extract().make_engine().options()
    pages = sample_pages() + [hostile_page(seed) for seed in range(150)]
    assert len(pages) >= 190
    extract_speedup.uninstall()
    plain = [trafilatura.extract(page, **options) for page in pages]
    recall = [trafilatura.extract(page, **{**options, "favor_precision": False}) for page in pages[-150:]]
    from trafilatura import xpaths

    before = list(xpaths.OVERALL_DISCARD_XPATH)
    undo = extract_speedup.install()
    try:
        assert extract_speedup.install() is undo  # once per process
        assert xpaths.OVERALL_DISCARD_XPATH[0] is not before[0]  # rewritten in place
        fast = [trafilatura.extract(page, **options) for page in pages]
        fast_recall = [trafilatura.extract(page, **{**options, "favor_precision": False}) for page in pages[-150:]]
    finally:
        undo()
    assert xpaths.OVERALL_DISCARD_XPATH == before
    assert sum(1 for text in plain if text) >= 40
    assert sum(1 for text in plain[-150:] if text) >= 50  # the generated pages give text too
    assert fast == plain
    assert fast_recall == recall


def test_the_c_lookup_gives_every_node_the_class_lxml_html_gives():
    from lxml import etree
    from lxml import html as lxml_html

    from webrefine.filters.extract.speedup import c_lookup

    pages = sample_pages()[:20] + [hostile_page(seed) for seed in range(20)] + [
        "<html><body><!-- c --><?pi x?><form><input name=a><select><option>1</select><textarea>t</textarea>"
        "<label for=a>L</label></form><FORM></FORM><svg:rect/></body></html>"]
    python_parser = lxml_html.HTMLParser(remove_comments=False, remove_pis=False)
    c_parser = lxml_html.HTMLParser(remove_comments=False, remove_pis=False)
    c_parser.set_element_class_lookup(c_lookup())
    kinds = set()
    for html in pages:
        plain, fast = (etree.fromstring(html, parser) for parser in (python_parser, c_parser))
        plain_classes = [type(node) for node in plain.iter()]
        assert [type(node) for node in fast.iter()] == plain_classes
        kinds.update(plain_classes)
    # (libxml2's HTML parser reads <?pi?> as a comment: it makes no processing instructions)
    assert {lxml_html.HtmlComment, lxml_html.FormElement,
            lxml_html.InputElement, lxml_html.SelectElement, lxml_html.TextareaElement,
            lxml_html.LabelElement, lxml_html.HtmlElement} <= kinds


def test_the_control_character_remover_deletes_what_trafilaturas_pattern_deletes():
    import random

    from trafilatura import utils

    from webrefine.filters.extract.speedup import ControlCharRemover

    extract_speedup.uninstall()
    pattern = utils.INVALID_XML_CHARS
    assert ControlCharRemover.handles(pattern)
    remover = ControlCharRemover(pattern)
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x00, 0x21)] + list("aé\x7f\x85\u2028ß€\ud800\udfff\ufffd\ufffe\uffff") + ["😀"]
    texts = ["", "plain", "\x00" * 3, "tab\tnew\nret\r"] + sample_pages()[:5] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    for text in texts:
        assert remover.sub("", text) == pattern.sub("", text)
    assert remover.sub("-", "a\x00b") == "a-b"  # any other use is the pattern's own
    assert remover.sub("", "a\x00b\x00", 1) == "ab\x00"
    assert remover.pattern == pattern.pattern
    undo = extract_speedup.install()
    try:
        assert isinstance(utils.INVALID_XML_CHARS, ControlCharRemover)
    finally:
        undo()
    assert utils.INVALID_XML_CHARS is pattern


def test_readabilitys_text_is_never_longer_than_its_bound():
    """The bound the readability skip rests on, checked against readability itself on every
    page: its text after trafilatura's pruning of the raw page, as compare_extraction measures it."""
    from copy import copy

    from lxml.etree import tostring
    from trafilatura.external import try_readability
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.utils import load_html, trim
    from trafilatura.xpaths import OVERALL_DISCARD_XPATH

    from webrefine.filters.extract.speedup import readability_bound

    extract_speedup.uninstall()
    bounded = unbounded = tight = 0
    for html in sample_pages() + [hostile_page(seed) for seed in range(150)]:
        tree = load_html(html)
        if tree is None:
            continue
        bound = readability_bound(tree)
        if bound is None:
            unbounded += 1
            continue
        bounded += 1
        algo = try_readability(prune_unwanted_nodes(copy(tree), OVERALL_DISCARD_XPATH))
        length = len(trim(tostring(algo, method="text", encoding="utf-8").decode("utf-8")))
        assert length <= bound
        tight += length * 2 > bound
    assert bounded >= 80 and unbounded >= 10 and tight >= 10, (bounded, unbounded, tight)


def test_the_readability_skip_is_taken_on_some_pages_and_changes_nothing():
    import trafilatura
    from trafilatura import core

    from webrefine.filters.extract import Extract

    options = Extract().make_engine().options()
    pages = sample_pages() + [hostile_page(seed) for seed in range(150)]
    extract_speedup.uninstall()
    original = core.compare_extraction
    plain = [trafilatura.extract(page, **options) for page in pages]
    skipped = []
    undo = extract_speedup.install()
    try:
        assert core.compare_extraction is not original and core.compare_extraction.skips is original
        check = extract_speedup.readability_cannot_win

        def counting(*args):
            skipped.append(check(*args))
            return skipped[-1]

        extract_speedup.readability_cannot_win = counting
        fast = [trafilatura.extract(page, **options) for page in pages]
    finally:
        extract_speedup.readability_cannot_win = check
        undo()
    assert core.compare_extraction is original
    assert fast == plain
    assert sum(skipped) >= 20 and len(skipped) - sum(skipped) >= 20


@pytest.mark.parametrize("applies, checked, patched, also_patched", [
    ("readability_skip_applies", "READABILITY_SKIP_CHECKED", "compare_extraction", None),
    ("raw_copy_skip_applies", "RAW_COPY_SKIP_CHECKED", "_extract_and_compare", "compare_extraction"),
])
def test_a_source_tied_speed_up_is_installed_only_over_the_code_it_was_checked_against(
        monkeypatch, applies, checked, patched, also_patched):
    from trafilatura import core, xpaths

    extract_speedup.uninstall()
    assert getattr(extract_speedup, applies)()  # the installed trafilatura is that code
    original = getattr(core, patched)
    before = getattr(core, also_patched) if also_patched else None
    monkeypatch.setattr(extract_speedup, checked, "0" * 64)
    undo = extract_speedup.install()
    try:
        assert getattr(core, patched) is original  # another trafilatura: this one is not installed
        assert "descendant::" in xpaths.OVERALL_DISCARD_XPATH[0].path  # the other speed-ups apply
        if also_patched:
            assert getattr(core, also_patched) is not before
    finally:
        undo()


def test_precision_mode_compares_on_the_raw_tree_itself_with_the_same_text():
    """The comparison gets the very tree the sequence holds (no copy) in precision mode, a
    copy in the other modes, and the text is trafilatura's in every mode."""
    import trafilatura
    from trafilatura import core

    from webrefine.filters.extract import Extract

    options = Extract().make_engine().options()
    pages = sample_pages() + [hostile_page(seed) for seed in range(100, 200)]
    modes = {"precision": options, "balanced": {**options, "favor_precision": False},
             "recall": {**options, "favor_precision": False, "favor_recall": True}}
    extract_speedup.uninstall()
    original = core._extract_and_compare
    plain = {mode: [trafilatura.extract(page, **kw) for page in pages] for mode, kw in modes.items()}
    same_tree: dict[str, list[bool]] = {mode: [] for mode in modes}
    undo = extract_speedup.install()
    compare = core.compare_extraction
    try:
        assert core._extract_and_compare is extract_speedup._compare_on_the_raw_tree
        fast = {}
        for mode, kw in modes.items():
            handed = []

            def sequence_tree(cleaned_tree, backup, tree, opts, _handed=handed):
                _handed.append([tree, None])
                return extract_speedup._compare_on_the_raw_tree(cleaned_tree, backup, tree, opts)

            def seen_tree(cleaned_tree, raw_tree, body, text, opts, _handed=handed):
                if _handed and _handed[-1][1] is None:
                    _handed[-1][1] = raw_tree
                return compare(cleaned_tree, raw_tree, body, text, opts)

            core._extract_and_compare, core.compare_extraction = sequence_tree, seen_tree
            fast[mode] = [trafilatura.extract(page, **kw) for page in pages]
            same_tree[mode] = [given is raw for given, raw in handed if raw is not None]
            core._extract_and_compare, core.compare_extraction = extract_speedup._compare_on_the_raw_tree, compare
    finally:
        undo()
    assert core._extract_and_compare is original
    assert fast == plain
    assert len(same_tree["precision"]) >= 150 and all(same_tree["precision"])
    assert same_tree["balanced"] and not any(same_tree["balanced"])
    assert same_tree["recall"] and not any(same_tree["recall"])


def test_the_readability_bound_is_its_definition():
    """The bound counted from all texts less those in dropped elements equals the length of the
    texts outside script, style and fencedframe elements (plus six per iframe), on every page."""
    from lxml.etree import XPath
    from trafilatura.utils import load_html

    from webrefine.filters.extract.speedup import readability_bound

    outside = XPath(".//text()[not(ancestor::script or ancestor::style or ancestor::fencedframe)]", smart_strings=False)

    def definition(tree):
        return len(" ".join(" ".join(outside(tree)).split())) + 6 * sum(1 for _ in tree.iter("iframe"))

    made = ["<html><body>a <b>b</b>c<script>var x = 1;</script>tail <style>p{}</style> d\u00a0e\u2003f"
            "<fencedframe>in <script>s</script><p>p</p></fencedframe> out<iframe src=x></iframe></body></html>",
            "<html><body><script>only script</script></body></html>",
            "<html><body> \n </body></html>"]
    trees = [t for t in (load_html(html) for html in sample_pages() + [hostile_page(s) for s in range(150)] + made)
             if t is not None]
    compared = 0
    for tree in trees:
        bound = readability_bound(tree)
        if bound is not None:
            assert bound == definition(tree)
            compared += 1
        # a subtree: its texts, and one inside a dropped element (all its texts dropped)
        for elem in list(tree.iter("p", "script", "fencedframe"))[:3]:
            if readability_bound(elem) is not None:
                assert readability_bound(elem) == definition(elem)
    assert compared >= 80
    fenced = load_html(made[0])
    assert readability_bound(fenced) == definition(fenced) == len("a b c tail d e f out") + 6
    assert readability_bound(fenced.find(".//fencedframe/p")) == 0


def test_the_bound_counted_while_pruning_is_the_pruned_trees_and_the_pruning_is_trafilaturas():
    """compare_extraction's pruning of the raw tree, done by _counting_prune: the same tree as
    trafilatura's own pruning, and the bound it counts (the raw tree's, less the texts of the
    subtrees it deletes) is at least the pruned tree's bound (more by at most one per deletion: a
    tail joined to another text may join two words) and at least readability's text on it."""
    from copy import copy

    from lxml.etree import tostring
    from trafilatura.external import try_readability
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.settings import Extractor
    from trafilatura.utils import load_html, trim
    from trafilatura.xpaths import OVERALL_DISCARD_XPATH

    from webrefine.filters.extract.speedup import (_bound_of, _bound_parts, _COMPARING, _Comparison,
                                                   _counting_prune, readability_bound)

    extract_speedup.uninstall()
    counting = _counting_prune(prune_unwanted_nodes)
    made = ["<html><body><p>keep this</p><div class='sidebar'>gone <b>too</b><script>x()</script></div>tail "
            "<style class='menu'>s{}</style><span class='share-x'><fencedframe>f</fencedframe>g</span>"
            "<p class='x' style='display:none'>hidden</p>end</body></html>"]
    compared = equal = deleted = 0
    for html in sample_pages() + [hostile_page(seed) for seed in range(150)] + made:
        tree = load_html(html)
        if tree is None or _bound_parts(tree) is None:
            continue
        expected = prune_unwanted_nodes(copy(tree), OVERALL_DISCARD_XPATH)
        selected = sum(len(expression(tree)) for expression in OVERALL_DISCARD_XPATH)  # at least those deleted
        _COMPARING.now = now = _Comparison(tree, _bound_parts(tree), None, "x", Extractor(precision=True))
        try:
            assert counting(tree, OVERALL_DISCARD_XPATH) is tree and now.pruned
        finally:
            _COMPARING.now = None
        assert tostring(tree) == tostring(expected)
        counted, exact = _bound_of(now.parts), readability_bound(tree)
        assert exact <= counted <= exact + selected
        algo = try_readability(copy(tree))
        assert len(trim(tostring(algo, method="text", encoding="utf-8").decode("utf-8"))) <= counted
        compared += 1
        equal += counted == exact
        deleted += counted < _bound_of(_bound_parts(load_html(html)))
    assert compared >= 80 and equal >= 40 and deleted >= 40, (compared, equal, deleted)
    tree = load_html(made[0])
    _COMPARING.now = now = _Comparison(tree, _bound_parts(tree), None, "x", Extractor(precision=True))
    counting(tree, OVERALL_DISCARD_XPATH)
    _COMPARING.now = None
    assert _bound_of(now.parts) == readability_bound(tree) == len("keep this tail end")
    # another tree, another list, or no comparison under way: trafilatura's own pruning
    other = load_html(made[0])
    assert counting(other, OVERALL_DISCARD_XPATH) is other and "sidebar" not in tostring(other).decode()


def test_the_second_readability_skip_spares_more_pages_and_changes_nothing(monkeypatch):
    """Where the raw tree's bound does not rule readability out, the pruned tree's bound may:
    readability then runs on far fewer pages than with the first skip alone, and trafilatura's
    text is the same on every page."""
    import trafilatura
    from trafilatura import external

    from webrefine.filters.extract import Extract

    options = Extract().make_engine().options()
    pages = sample_pages() + [hostile_page(seed) for seed in range(150)]
    extract_speedup.uninstall()
    plain = [trafilatura.extract(page, **options) for page in pages]
    original = external.ReadabilityDocument  # what try_readability runs (its source unchanged)
    ran: list[bool] = []

    def counted(tree, **kw):
        ran.append(sum(1 for _ in tree.iter()) > 3)  # not the empty page a skip hands over
        return original(tree, **kw)

    def run() -> int:
        ran.clear()
        monkeypatch.setattr(external, "ReadabilityDocument", counted)
        undo = extract_speedup.install()
        try:
            assert [trafilatura.extract(page, **options) for page in pages] == plain
        finally:
            undo()
        return sum(ran)

    both = run()
    monkeypatch.setattr(extract_speedup, "PRUNED_SKIP_CHECKED", "0" * 64)  # the first skip alone
    first_alone = run()
    assert both >= 5 and first_alone >= both + 10, (first_alone, both)


def test_the_second_readability_skip_is_installed_only_over_the_code_it_was_checked_against(monkeypatch):
    from trafilatura import core, external

    extract_speedup.uninstall()
    prune, try_readability, compare = external.prune_unwanted_nodes, external.try_readability, core.compare_extraction
    monkeypatch.setattr(extract_speedup, "PRUNED_SKIP_CHECKED", "0" * 64)
    undo = extract_speedup.install()
    try:
        assert external.prune_unwanted_nodes is prune and external.try_readability is try_readability
        assert core.compare_extraction is not compare  # the first skip still applies
    finally:
        undo()
    monkeypatch.undo()
    undo = extract_speedup.install()
    try:
        assert external.prune_unwanted_nodes.counts is prune and external.try_readability.skips is try_readability
    finally:
        undo()
    assert external.prune_unwanted_nodes is prune and external.try_readability is try_readability


def test_parsing_a_pages_utf8_bytes_gives_the_tree_parsing_the_str_gives():
    """parse_utf8 against lxml's own parse of the str, with trafilatura's parser, on the sample,
    generated pages and strings of every width, byte-order marks and charset declarations."""
    from lxml import etree
    from trafilatura import utils

    extract_speedup.uninstall()
    fromstring, parser = utils.fromstring, utils.HTML_PARSER
    parse = extract_speedup.parse_utf8(fromstring, parser)
    body = "<p>caf\u00e9 \u00a0 na\u00efve</p><p>\u65e5\u672c\u8a9e</p><p>\U0001f600 &amp; &eacute; &#128512;</p>"
    pages = sample_pages() + [hostile_page(seed) for seed in range(150)] + [
        "<html><body><p>ascii only</p></body></html>",
        "<html><body><p>latin-1 only: caf\u00e9</p></body></html>",
        f"<html><body>{body}</body></html>",
        f"\ufeff<html><body>{body}</body></html>",  # a BOM left in the text
        f"<html><head><meta charset=windows-1252></head><body>{body}</body></html>",
        f"<html><head><meta http-equiv=Content-Type content='text/html; charset=shift_jis'></head><body>{body}</body></html>",
        f"<!DOCTYPE html>\r\n<html>\r\n<body>{body}\r\n</body></html>",
        "<p>a fragment \u00e9</p>",
        "<html><body><p>\ud800 lone surrogate</p></body></html>",
    ]
    compared = 0
    for html in pages:
        try:
            expected = etree.tostring(fromstring(html, parser=parser))
        except ValueError:  # lxml refuses a str with an XML encoding declaration
            continue
        assert etree.tostring(parse(html, parser=parser)) == expected, html[:200]
        compared += 1
    assert compared >= len(pages) - 3
    with pytest.raises(ValueError):  # what lxml does with a str, load_html's cue to parse bytes
        fromstring('<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>', parser=parser)
    xml = '<?xml version="1.0" encoding="utf-8"?><html><body><p>x \u00e9</p></body></html>'
    assert etree.tostring(parse(xml, parser=parser)) == etree.tostring(utils.fromstring_bytes(xml))
    other = lxml_html.HTMLParser()
    assert parse("<p>x</p>", parser=other) is not None  # another parser: passed through as a str


def test_the_utf8_parse_is_installed_only_over_the_code_it_was_checked_against(monkeypatch):
    from trafilatura import utils

    extract_speedup.uninstall()
    original = utils.fromstring
    assert extract_speedup.utf8_parse_applies()
    undo = extract_speedup.install()
    try:
        assert utils.fromstring is not original and utils.fromstring.parses is original
    finally:
        undo()
    assert utils.fromstring is original
    monkeypatch.setattr(extract_speedup, "UTF8_PARSE_CHECKED", "0" * 64)
    undo = extract_speedup.install()
    try:
        assert utils.fromstring is original
    finally:
        undo()
