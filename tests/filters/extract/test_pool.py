"""filters/extract/pool.py: the pipe protocol survives partial writes and never blocks for good."""
import os
import signal
import threading
import time

import pytest

from webrefine.filters.extract.engines import Trafilatura
from webrefine.filters.extract.pool import HelperPool, _read_exact, _read_msg, _write_msg
from tests.warcgen import ARTICLE


def test_a_reply_that_stops_half_way_times_out_instead_of_blocking():
    r, w = os.pipe()
    try:
        os.write(w, b"12345")
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            _read_exact(r, 10, time.monotonic() + 0.2)
        assert time.monotonic() - start < 2
        _write_msg(w, {"page": "x" * 10})
        assert _read_msg(r, time.monotonic() + 5) == {"page": "x" * 10}
    finally:
        os.close(r)
        os.close(w)


def test_pages_larger_than_the_pipe_arrive_whole_while_signals_interrupt_the_writes():
    """A signal during a write to a full pipe makes os.write return early; before every byte
    was written in a loop, the helper waited for the rest of a page and the worker for a
    reply (a hang seen under py-spy, which stops the process to sample it)."""
    words = " ".join(f"word{i}" for i in range(400_000))  # ~4 MB: four times the 1 MiB pipe
    big = ARTICLE.replace("</article>", f"<p>{words}</p></article>")
    pool = HelperPool(Trafilatura(), 2)
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    try:
        outcomes = pool.run_many([big, ARTICLE, big], timeout_s=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
        pool.stop()
    assert fired
    assert [status for status, _ in outcomes] == ["ok", "ok", "ok"]
    assert "word399999" in outcomes[0][1] and "word399999" in outcomes[2][1]


def test_a_helper_holds_a_second_small_page_but_never_a_large_one():
    """Queued pages let a helper go on without waiting for the worker; a page that does not
    fit in the pipe only goes to an idle helper, or the worker's write could block on a
    helper that is blocked writing a large reply: a deadlock."""
    words = " ".join(f"word{i}" for i in range(300_000))
    big = ARTICLE.replace("</article>", f"<p>{words}</p></article>")  # ~3 MB page, ~3 MB of text back
    pool = HelperPool(Trafilatura(), 1)
    (helper,) = pool.helpers
    outcomes: dict = {}

    def work():
        outcomes.update(pool.submit("c", big, 60))  # waits for a free helper: a and b finish
        outcomes.update(pool.submit("d", big, 60))
        outcomes.update(pool.submit("e", ARTICLE, 60))
        outcomes.update(pool.drain(60))

    try:
        assert pool.submit("a", ARTICLE, 60) == [] and pool.submit("b", ARTICLE, 60) == []
        assert [key for key, _ in pool.queues[helper]] == ["a", "b"]  # b waits in the pipe
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(120)
        assert not worker.is_alive(), "deadlock: the worker blocked writing to a helper that was writing"
    finally:
        pool.stop()  # also frees a blocked writer (broken pipe)
    assert sorted(outcomes) == ["a", "b", "c", "d", "e"]
    assert all(status == "ok" for status, _ in outcomes.values())
    assert "word299999" in outcomes["c"][1] and "word299999" in outcomes["d"][1]


def test_pages_wait_in_a_helper_only_while_they_fit_in_its_pipe_together():
    """Up to ``depth`` pages go to a helper, but only as many as its pipe holds at once: pages
    that each fit could together fill it, and the worker's write would block."""
    pool = HelperPool(Trafilatura(), 1)
    (helper,) = pool.helpers
    try:
        third = helper.capacity // 3
        assert pool.depth == 4
        assert pool._pick(10 * helper.capacity) is helper  # idle: any page, the helper reads it whole
        pool.queues[helper].extend([("a", b"x" * third), ("b", b"x" * third)])
        room = helper.capacity - 2 * third
        assert pool._pick(room) is helper  # what is left of the pipe
        assert pool._pick(room + 1) is None  # one byte more does not fit
        pool.queues[helper].append(("c", b"x" * room))
        assert pool._pick(1) is None  # the pipe is full
        pool.queues[helper].clear()
        pool.queues[helper].extend([("a", b"x"), ("b", b"x"), ("c", b"x"), ("d", b"x")])
        assert pool._pick(1) is None  # four pages: full however small
    finally:
        pool.queues[helper].clear()
        pool.stop()


def test_a_page_sent_while_its_helper_still_imports_is_not_a_false_timeout():
    """A page's time limit runs from the helper's READY message, not from its start: a fresh
    helper spends ~1 s (many on a loaded machine) importing trafilatura, far over this limit."""
    pool = HelperPool(Trafilatura(), 1)
    try:
        (helper,) = pool.helpers
        assert not helper.ready
        assert pool.run_many([ARTICLE, ARTICLE], timeout_s=0.3) == [("ok", pool_text()), ("ok", pool_text())]
        assert helper.ready
    finally:
        pool.stop()


def pool_text() -> str:
    return Trafilatura().extract(ARTICLE)


class _Unstartable(Trafilatura):
    def spec(self):
        return "no-such-engine", {}


def test_a_helper_that_cannot_start_ends_each_page_as_an_error_without_looping():
    pool = HelperPool(_Unstartable(), 1)
    try:
        outcomes = pool.run_many([ARTICLE, ARTICLE, ARTICLE], timeout_s=5)
    finally:
        pool.stop()
    assert [status for status, _ in outcomes] == ["error"] * 3
    assert all("starting" in message for _, message in outcomes)


def _warc_pages(tmp_path, n: int) -> tuple[str, list[str]]:
    """A WARC file of ``n`` different articles, and its pages as the pipeline reads them."""
    import dataclasses

    from tests.warcgen import gz, page
    from webrefine.pipeline.config import ReadConfig
    from webrefine.pipeline.io.warc import read_warc
    from webrefine.pipeline.stats.tally import Tally

    path = tmp_path / "pages.warc.gz"
    path.write_bytes(gz(*(page(ARTICLE.replace("hills", f"hills {i}"), url=f"https://example.com/{i}")
                          for i in range(n))))
    docs = read_warc(lambda: open(path, "rb"), str(path), ReadConfig(), Tally())
    return str(path), [d.html for d in docs]


def _read_settings() -> dict:
    import dataclasses

    from webrefine.pipeline.config import ReadConfig

    return dataclasses.asdict(ReadConfig())


def test_pages_extracted_ahead_are_answered_as_on_request(tmp_path):
    """The first helper extracts the run's pages before the worker sends them (Prefetch); the
    worker's pages, sent to either helper, are answered from the store with what a pool
    without it answers."""
    from webrefine.filters.extract.pool import Prefetch

    warc, pages = _warc_pages(tmp_path, 6)
    fetch = Prefetch([warc], _read_settings(), 1_048_576)
    ahead, plain = HelperPool(Trafilatura(), 2, prefetch=fetch), HelperPool(Trafilatura(), 2)
    try:
        deadline = time.monotonic() + 120
        while len(os.listdir(fetch.dir)) < len(pages) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(os.listdir(fetch.dir)) == len(pages)  # every page extracted ahead
        outcomes = ahead.run_many(pages, timeout_s=60)
        assert os.listdir(fetch.dir) == []  # each answer taken from the store (and removed)
        assert outcomes == plain.run_many(pages, timeout_s=60)
        assert [status for status, _ in outcomes] == ["ok"] * 6 and "hills 5" in outcomes[5][1]
    finally:
        ahead.stop()
        plain.stop()
    assert not os.path.exists(fetch.dir)


def test_a_page_the_helper_has_not_done_is_extracted_and_skipped_ahead(tmp_path):
    """A page sent before the prefetching reached it is extracted on request, marked so the
    prefetching skips it; the other pages still come from the store."""
    from webrefine.filters.extract.pool import Prefetch

    warc, pages = _warc_pages(tmp_path, 4)
    outside = ARTICLE.replace("hills", "dales")  # not in the file: never extracted ahead
    fetch = Prefetch([warc], _read_settings(), 1_048_576)
    pool = HelperPool(Trafilatura(), 1, prefetch=fetch)
    try:
        assert pool.run_many([outside], timeout_s=60) == [("ok", Trafilatura().extract(outside))]
        outcomes = pool.run_many(pages, timeout_s=60)
        assert outcomes == [("ok", Trafilatura().extract(p)) for p in pages]
        assert not pool.helpers[0].prefetches  # done ahead (every page): it said so, pages no longer wait
    finally:
        pool.stop()


def test_a_helper_that_extracts_ahead_gets_twice_the_time_and_then_pages_go_to_a_new_one(tmp_path):
    """A page may wait behind one extracted ahead: the deadline is twice the limit, and once past it
    the helper is replaced by one that does not prefetch and times the pages itself, so the
    outcome (here a timeout) is the one a pool without prefetching gives."""
    from webrefine.filters.extract.pool import Prefetch

    warc, _ = _warc_pages(tmp_path, 3)
    pool = HelperPool(Trafilatura(), 1, prefetch=Prefetch([warc], _read_settings(), 1_048_576))
    (helper,) = pool.helpers
    try:
        assert helper.prefetches
        helper.ready = True
        assert helper.deadline(10.0, 2.0) == 14.0
        helper.ready = False
        big = ARTICLE.replace("</article>", "<p>more words here</p>" * 3000 + "</article>")
        assert pool.run_many([ARTICLE], timeout_s=60) == [("ok", pool_text())]  # ready, warm
        assert pool.run_many([big], timeout_s=0.0005) == [("timeout", None)]
        assert not helper.prefetches and helper.deadline(10.0, 2.0) == 12.0
    finally:
        pool.stop()


def test_the_store_goes_with_the_worker_even_when_it_is_killed(tmp_path):
    """A worker killed outright (SIGKILL) never runs its cleanup; its helpers see their pipe
    close and remove the directory of pages extracted ahead."""
    from webrefine.filters.extract.pool import Prefetch

    warc, pages = _warc_pages(tmp_path, 2)
    fetch = Prefetch([warc], _read_settings(), 1_048_576)
    pool = HelperPool(Trafilatura(), 2, prefetch=fetch)
    try:
        assert pool.run_many(pages[:1], timeout_s=60)[0][0] == "ok"
        for helper in pool.helpers:
            helper.proc.stdin.close()  # what the worker's death does to the pipes
        for helper in pool.helpers:
            helper.proc.wait(30)
        assert not os.path.exists(fetch.dir)
    finally:
        for helper in pool.helpers:
            helper.proc.stdout.close()
            helper.proc = None
        fetch.remove()
