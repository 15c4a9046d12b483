"""filters/extract/engines.py: every engine behind one interface, rebuilt from its spec in a
helper process, giving the text the library itself gives."""
import pytest

from webrefine.filters.extract.engines import ENGINES, Resiliparse, Trafilatura, make_engine
from tests.warcgen import ARTICLE


@pytest.mark.parametrize("engine", [Trafilatura(), Trafilatura(fast=True, speedup=False),
                                    Resiliparse(include_comments=True)], ids=repr)
def test_an_engine_is_rebuilt_from_its_spec(engine):
    name, params = engine.spec()
    assert ENGINES[name] is type(engine)
    assert make_engine(name, eval(repr(params))) == engine  # the helper's command line carries repr(params)


def test_engines_extract_the_main_text():
    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    plain = Trafilatura(speedup=False)
    plain.load()
    assert plain.extract(ARTICLE) == trafilatura.extract(ARTICLE, **plain.options())
    assert "walk in the hills" in plain.extract(ARTICLE)
    fast = Resiliparse()
    fast.load()
    assert fast.extract(ARTICLE) == extract_plain_text(ARTICLE, **fast.options())
