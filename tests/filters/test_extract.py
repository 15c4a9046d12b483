"""The extract stage: trafilatura output, post-formatting, size cap, time box, failures."""
import pickle

import pytest

from webrefine.filters.document import Document
from webrefine.filters.stage import apply_stage
from webrefine.filters.extract import Extract, post_format
from tests.warcgen import ARTICLE


def page(html: str) -> Document:
    return Document(id="1", url="https://example.com/", html=html)


@pytest.fixture(scope="module")
def extract():
    stage = Extract()
    stage.setup()
    yield stage
    stage.teardown()


def test_extracts_main_text_and_drops_boilerplate(extract):
    out, verdict = apply_stage(extract, page(ARTICLE))
    assert verdict.keep and out.html is None
    assert "the village at the top has a small bakery" in out.text
    assert "Home | About | Contact" not in out.text
    assert out.signals["extract.text_chars"] == len(out.text)


def test_post_format_removes_urls_and_collapses_newlines():
    text = "See https://example.com/a?b=1 and www.example.org/page, or mail example.net.\n\n\n\nNext 10.0.0.1 end"
    assert post_format(text) == "See  and , or mail .\n\nNext  end"
    assert post_format("version 2.0 of setup.py, e.g. this") == "version 2.0 of setup.py, e.g. this"


def test_url_removal_by_token_equals_the_regex_over_the_whole_text():
    """strip_urls runs the URL regex only on tokens holding "." or ":" before a non-space: the
    same result as on the whole text, also next to Unicode spaces, control and CJK characters."""
    import random

    from webrefine.filters.extract.stage import _URL, strip_urls

    rng = random.Random(11)
    pieces = list("ab.:/wW019-_ <>\"'()[],;!?\n\t\u00a0\u2003\x1c\x85é中") + [
        "www.", "http://", "HTTPS://", "ftp://", ".com", ".org", ".news", "192.168.", "255.", "e.g.", "..", "::"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(20_000)]
    texts += ["See https://example.com/a?b=1 and www.example.org/page, or mail example.net.",
              "x" * 3000 + ".com", "a:" * 2000, "no dots at all here\n" * 50]
    mismatches = [t for t in texts if strip_urls(t) != _URL.sub("", t)]
    assert not mismatches, mismatches[:3]
    assert sum(strip_urls(t) != t for t in texts) > 1000  # the texts do hold URLs


def test_empty_and_contentless_pages_are_dropped(extract):
    assert apply_stage(extract, page(""))[1].reason == "extract.empty"
    assert apply_stage(extract, page("<html><head><title>t</title></head><body></body></html>"))[1].reason == "extract.empty"
    assert apply_stage(extract, page("<html><body><p>https://only.example.com/a-link</p></body></html>"))[1].reason \
        == "extract.empty"  # nothing left once URLs are removed


def test_timeout_is_a_counted_drop_and_the_next_page_works():
    stage = Extract(timeout_s=0.0005)
    big = ARTICLE.replace("</article>", "<p>more words here</p>" * 3000 + "</article>")
    try:
        assert apply_stage(stage, page(big))[1].reason == "extract.timeout"
        relaxed = Extract(timeout_s=30)
        object.__setattr__(relaxed, "_pool", stage._pool)  # the same, restarted helper
        assert apply_stage(relaxed, page(ARTICLE))[1].keep
    finally:
        stage.teardown()


def test_a_dead_helper_process_is_restarted(extract):
    apply_stage(extract, page(ARTICLE))
    helper = extract._pool.helpers[0]
    helper.proc.kill()
    helper.proc.wait()
    assert apply_stage(extract, page(ARTICLE))[1].keep


def test_input_size_cap_cuts_the_html():
    stage = Extract(isolation="inline", max_html_chars=2048)
    out, verdict = apply_stage(stage, page(ARTICLE + "<p>x</p>" * 10000))
    assert verdict.signals["html_chars"] > 2048
    assert out is None or len(out.text) < 2048


def test_same_output_inline_and_isolated(extract):
    a = apply_stage(Extract(isolation="inline"), page(ARTICLE))[0]
    b = apply_stage(extract, page(ARTICLE))[0]
    assert a.text == b.text


def test_stage_pickles_without_its_helper_process(extract):
    apply_stage(extract, page(ARTICLE))
    clone = pickle.loads(pickle.dumps(extract))
    assert getattr(clone, "_pool", None) is None and clone == extract


def test_invalid_parameters():
    with pytest.raises(ValueError):
        Extract(timeout_s=0)
    with pytest.raises(ValueError):
        Extract(isolation="thread")
    with pytest.raises(ValueError, match="engine"):
        Extract(engine="readability")


@pytest.mark.parametrize("isolation", ["process", "inline"])
def test_resiliparse_engine_extracts_main_text(isolation):
    stage = Extract(engine="resiliparse", isolation=isolation)
    try:
        out, verdict = apply_stage(stage, page(ARTICLE + "<script>var tracking = 1;</script>"))
        assert verdict.keep and out.html is None
        assert "the village at the top has a small bakery" in out.text
        assert "Home | About | Contact" not in out.text and "tracking" not in out.text
        assert out.text != apply_stage(Extract(isolation="inline"), page(ARTICLE))[0].text  # another engine
        assert apply_stage(stage, page("<html><body></body></html>"))[1].reason == "extract.empty"
    finally:
        stage.teardown()


def test_a_pool_extracts_in_parallel_and_keeps_order_timeouts_and_empties():
    stage = Extract(processes=3, timeout_s=20)
    pages = [page(ARTICLE.replace("walk", f"walk {i}")) for i in range(7)] + [page("")]
    try:
        verdicts = stage.call_batch(pages)
        assert [v.keep for v in verdicts] == [True] * 7 + [False]
        assert all(f"walk {i}" in v.doc.text for i, v in enumerate(verdicts[:7]))
        assert verdicts[7].reason == "extract.empty"
        assert [v.doc.text for v in verdicts[:7]] == [stage(p).doc.text for p in pages[:7]]
        big = ARTICLE.replace("</article>", "<p>more words here</p>" * 3000 + "</article>")
        quick = Extract(processes=3, timeout_s=0.0005)  # helpers are warm: none is starting
        object.__setattr__(quick, "_pool", stage._pool)
        assert {v.reason for v in quick.call_batch([page(big)] * 4)} == {"extract.timeout"}
        assert stage.call_batch(pages[:3])[2].keep  # helpers restarted after the kills
    finally:
        stage.teardown()


def test_a_prestarted_pool_is_adopted_once():
    from webrefine.filters.extract import pool

    stage = Extract(processes=2)
    stage.prestart()
    prestarted = pool._PRESTARTED[(stage.make_engine(), 2)]
    stage.setup()
    other = Extract(processes=2)
    other.setup()
    try:
        assert stage._pool is prestarted and other._pool is not prestarted
        assert not pool._PRESTARTED
        assert stage(page(ARTICLE)).keep
    finally:
        stage.teardown()
        other.teardown()
