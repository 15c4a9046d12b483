"""filters/extract/speedup.py: the guarded XPaths select the same nodes and trafilatura
gives the same text with them as without."""
import pytest
from lxml import html as lxml_html
from lxml.etree import XPath

from webrefine.filters.extract import speedup as extract_speedup
from webrefine.filters.extract.speedup import REGEXP_NS, guard
from webrefine.pipeline.cli import SAMPLE
from webrefine.pipeline.config import ReadConfig
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.io.warc import read_warc


def test_guard_adds_an_existence_test_only_where_the_pattern_cannot_match_nothing():
    assert guard("re:test(@class, 'nav|menu')") == "((@class) and re:test(@class, 'nav|menu'))"
    assert guard("re:test(@id|@class, '^shar')") == "((@id or @class) and re:test(@id|@class, '^shar'))"
    assert guard("re:test(@id, 'NAV', 'i')") == "((@id) and re:test(@id, 'NAV', 'i'))"
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


def sample_pages() -> list[str]:
    return [doc.html for doc in read_warc(lambda: open(SAMPLE, "rb"), SAMPLE, ReadConfig(), Tally()) if doc.html]


def test_trafilatura_output_is_identical_with_the_speedup():
    import trafilatura

    from webrefine.filters.extract import Extract

    options = Extract().make_engine().options()
    pages = sample_pages()
    assert len(pages) >= 40
    extract_speedup.uninstall()
    plain = [trafilatura.extract(page, **options) for page in pages]
    from trafilatura import xpaths

    before = list(xpaths.OVERALL_DISCARD_XPATH)
    undo = extract_speedup.install()
    try:
        assert extract_speedup.install() is undo  # once per process
        assert xpaths.OVERALL_DISCARD_XPATH[0] is not before[0]  # rewritten in place
        fast = [trafilatura.extract(page, **options) for page in pages]
    finally:
        undo()
    assert xpaths.OVERALL_DISCARD_XPATH == before
    assert sum(1 for text in plain if text) >= 40
    assert fast == plain
