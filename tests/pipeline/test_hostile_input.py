"""Hostile input through the real pipeline: the run completes, good records come out, every
bad one is counted with its file and reason, nothing is lost, no worker dies."""
import gzip
import json

import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.pipeline.cli import EXIT_INPUT_ERRORS, main
from webrefine.pipeline.stats.build import check_invariant
from tests import warcgen

GOOD = [warcgen.ARTICLE.replace("walk", f"walk number {i}") for i in range(4)]


def hostile_records():
    """(name, record bytes) for every kind of bad record the issue lists."""
    yield "no_status_line", warcgen.record(b"Content-Type: text/html\r\n\r\n<html>x</html>", url="https://bad/no-status")
    yield "garbage_head", warcgen.record(b"\x00\xff garbage \r\n\r\n<html>x</html>", url="https://bad/garbage")
    yield "no_target_uri", warcgen.record(warcgen.http_response(GOOD[0].encode()), url=None, record_id="<urn:uuid:no-uri>")
    yield "binary_as_html", warcgen.page(bytes(range(256)) * 200, url="https://bad/binary")
    yield "invalid_utf8", warcgen.page(b"<html><body><p>" + b"\xc3\x28 \xa0\xa1 " * 500 + b"</p></body></html>",
                                 url="https://bad/utf8")
    yield "unknown_charset", warcgen.page(GOOD[1].encode(), headers={"Content-Type": "text/html; charset=klingon-8"},
                                    url="https://bad/charset")
    yield "gzip_payload", warcgen.page(gzip.compress(GOOD[2].encode()),
                                 headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
                                 url="https://bad/gzip")
    yield "huge_30mb", warcgen.page("<html><body>" + "<p>spam spam spam</p>" * 1_500_000 + "</body></html>",
                              url="https://bad/huge")
    yield "deep_nesting", warcgen.page("<html><body>" + "<div>" * 20000 + "deep" + "</div>" * 20000 + "</body></html>",
                                 url="https://bad/deep")
    yield "nul_bytes", warcgen.page("<html><body><p>" + "text\x00with NUL " * 300 + "</p></body></html>",
                              url="https://bad/nul")
    yield "single_line_2mb", warcgen.page("<html><body><p>" + "word " * 400_000 + "</p></body></html>",
                                    url="https://bad/oneline")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    records = [warcgen.page(GOOD[0], url="https://good/0")]
    for _, rec in hostile_records():
        records.append(rec)
    records.append(warcgen.page(GOOD[3], url="https://good/3"))
    members = [gzip.compress(r) for r in records]
    corrupt = bytearray(gzip.compress(warcgen.page(GOOD[1], url="https://bad/corrupt-member")))
    corrupt[40:80] = b"\x00" * 40
    members.insert(3, bytes(corrupt))
    (tmp / "hostile.warc.gz").write_bytes(b"".join(members))
    good = warcgen.gz(warcgen.page(GOOD[1], url="https://good/1"), warcgen.page(GOOD[2], url="https://good/2"))
    (tmp / "cut.warc.gz").write_bytes(good + gzip.compress(warcgen.page(GOOD[0], url="https://bad/cut"))[:-300])
    (tmp / "empty.warc.gz").write_bytes(b"")
    (tmp / "notwarc.warc.gz").write_bytes(b"<html>this is not a WARC</html>\n" * 100)
    (tmp / "plain.warc").write_bytes(warcgen.page(GOOD[0].replace("hills", "dunes"), url="https://good/plain"))
    cfg = tmp / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"stages": ["extract", "language"], "output": {"rejects_per_reason": 50}}))
    out = tmp / "out"
    code = main(["run", "--input", str(tmp / "*.warc.gz"), "--input", str(tmp / "*.warc"), "--output", str(out),
                 "--config", str(cfg), "--no-progress"])
    return code, out


def test_run_completes_with_input_errors_exit_status(hostile_run):
    code, out = hostile_run
    assert code == EXIT_INPUT_ERRORS
    assert (out / "stats.json").exists()


def test_good_records_come_out(hostile_run):
    _, out = hostile_run
    urls = set(pq.read_table(out / "documents").column("url").to_pylist())
    assert {"https://good/0", "https://good/1", "https://good/2", "https://good/3", "https://good/plain"} <= urls
    # Hostile pages whose text is still readable survive as documents too.
    assert {"https://bad/charset", "https://bad/gzip"} <= urls


def test_every_record_is_accounted_for(hostile_run):
    _, out = hostile_run
    stats = json.loads((out / "stats.json").read_text())
    units, accounted = check_invariant(stats)
    assert units == accounted
    assert stats["errors"].get("read.bad_http") == 2  # no status line, garbage head
    assert stats["errors"].get("read.incomplete_record") == 1  # the cut file's last record
    assert stats["file_errors"] == {"read.corrupt_gzip": 1, "read.not_warc": 2}  # corrupt member; empty + junk
    samples = stats["error_samples"]
    assert {s["file"].rsplit("/", 1)[-1] for s in samples["errors.read.bad_http"]} == {"hostile.warc.gz"}
    assert {s["file"].rsplit("/", 1)[-1] for s in samples["file_errors.read.not_warc"]} == {"empty.warc.gz",
                                                                                           "notwarc.warc.gz"}


def test_each_hostile_page_is_a_document_or_a_drop_with_a_reason(hostile_run):
    _, out = hostile_run
    docs = {d["url"]: d for d in pq.read_table(out / "documents").to_pylist()}
    rejects = {r["url"]: r["reason"] for r in pq.read_table(out / "rejects").to_pylist()}
    for url in ("https://bad/binary", "https://bad/deep", "https://bad/huge", "https://bad/oneline",
                "https://bad/utf8", "https://bad/nul"):
        assert (url in docs) != (url in rejects), url
        if url in rejects:
            assert rejects[url].startswith(("extract.", "language.")), (url, rejects[url])
    # Pages with no extractable text are drops, whatever the machine's speed.
    assert rejects["https://bad/binary"] == "extract.empty"
    assert rejects["https://bad/deep"].startswith("extract.")
    # The 30 MB page was cut at read.max_payload_bytes and flagged; it may time out in extraction.
    assert "https://bad/huge" in rejects or docs["https://bad/huge"]["truncated"]


def test_no_control_characters_reach_the_output(hostile_run):
    _, out = hostile_run
    docs = pq.read_table(out / "documents").to_pylist()
    assert not any("\x00" in d["text"] for d in docs)
    nul = [d for d in docs if d["url"] == "https://bad/nul"]
    assert not nul or "textwith NUL" in nul[0]["text"]
