"""Reading WARC: what becomes a page, what is dropped, what is an error; nothing is lost."""
import gzip
import io

from webrefine.pipeline.config import ReadConfig
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.io.warc import decode_html, is_html, read_warc
from tests import warcgen


def read(data: bytes, cfg: ReadConfig = ReadConfig()):
    tally = Tally()
    docs = list(read_warc(lambda: io.BytesIO(data), "test.warc.gz", cfg, tally))
    return docs, tally.counts


def accounted(counts) -> int:
    return (counts["stage.read.out"] + sum(v for k, v in counts.items() if k.startswith("stage.read.dropped."))
            + sum(v for k, v in counts.items() if k.startswith("errors.")))


def test_keeps_html_200_with_metadata():
    data = warcgen.gz(warcgen.record(b"software: test\r\n", rtype="warcinfo"),
                warcgen.page(warcgen.ARTICLE, url="https://a.example/x", record_id="<urn:uuid:1>"))
    docs, counts = read(data)
    assert [d.id for d in docs] == ["<urn:uuid:1>"]
    assert docs[0].url == "https://a.example/x" and docs[0].date == "2024-05-18T01:00:00Z"
    assert docs[0].source == "test.warc.gz" and "walk in the hills" in docs[0].html
    assert counts["input.records"] == 2 and counts["input.responses"] == 1 and counts["stage.read.out"] == 1


def test_non_200_and_non_html_are_counted_drops():
    data = warcgen.gz(
        warcgen.page("<html>moved</html>", status="301 Moved Permanently", url="https://a/1"),
        warcgen.page("<html>gone</html>", status="404 Not Found", url="https://a/2"),
        warcgen.page(b"%PDF-1.4 binary", headers={"Content-Type": "application/pdf"}, url="https://a/3"),
        warcgen.page(b"\xff\xd8\xff\xe0 jpeg", headers={"Content-Type": "image/jpeg"}, url="https://a/4"),
        warcgen.page(warcgen.ARTICLE, url="https://a/5"),
    )
    docs, counts = read(data)
    assert [d.url for d in docs] == ["https://a/5"]
    assert counts["stage.read.dropped.read.http_status"] == 2
    assert counts["stage.read.dropped.read.not_html"] == 2
    assert accounted(counts) == counts["input.responses"] == 5


def test_identified_payload_type_wins_and_sniffing_without_types():
    typed = warcgen.page(b"plain words", headers={}, url="https://a/1",
                   extra={"WARC-Identified-Payload-Type": "text/html"})
    sniffed = warcgen.page(b"<!DOCTYPE html><html><body><p>hi</p></body></html>", headers={}, url="https://a/2")
    not_html = warcgen.page(b"just some text, no markup", headers={}, url="https://a/3")
    docs, counts = read(warcgen.gz(typed, sniffed, not_html))
    assert [d.url for d in docs] == ["https://a/1", "https://a/2"]
    assert counts["stage.read.dropped.read.not_html"] == 1
    assert is_html("application/xhtml+xml; charset=utf-8", b"") and not is_html("text/plain", b"<html>")


def test_charsets_http_meta_detection_and_garbage():
    body = "<html><body><p>Café déjà vu – naïve</p></body></html>"
    cp = warcgen.page(body.encode("cp1252"), headers={"Content-Type": "text/html; charset=windows-1252"}, url="https://a/1")
    meta = warcgen.page(("<html><head><meta charset=\"iso-8859-1\"></head><body>Café</body></html>").encode("latin-1"),
                  headers={"Content-Type": "text/html"}, url="https://a/2")
    unknown = warcgen.page("<html><body>Café</body></html>".encode("utf-8"),
                     headers={"Content-Type": "text/html; charset=x-no-such-charset"}, url="https://a/3")
    garbage = warcgen.page(b"<html><body>\xff\xfe\xfa broken \x80\x81 bytes</body></html>", url="https://a/4")
    docs, counts = read(warcgen.gz(cp, meta, unknown, garbage))
    by_url = {d.url: d.html for d in docs}
    assert "Café déjà vu – naïve" in by_url["https://a/1"]
    assert "Café" in by_url["https://a/2"]
    assert "Café" in by_url["https://a/3"]
    assert "broken" in by_url["https://a/4"]
    assert len(docs) == 4


def test_decode_html_never_raises_and_prefers_http_charset():
    text, codec = decode_html("Grüße".encode("utf-16"), "utf-16")
    assert text == "Grüße" and codec == "utf-16"
    text, codec = decode_html(b"\x80\x81\xfe", None)
    assert isinstance(text, str)


def test_truncated_records_are_kept_and_flagged_or_dropped_by_config():
    data = warcgen.gz(warcgen.page(warcgen.ARTICLE, extra={"WARC-Truncated": "length"}))
    docs, _ = read(data)
    assert docs[0].truncated
    docs, counts = read(data, ReadConfig(keep_truncated=False))
    assert docs == [] and counts["stage.read.dropped.read.truncated"] == 1


def test_payload_cap_cuts_and_flags():
    big = "<html><body>" + "<p>word</p>" * 2000 + "</body></html>"
    docs, _ = read(warcgen.gz(warcgen.page(big)), ReadConfig(max_payload_bytes=4096))
    assert docs[0].truncated and len(docs[0].html) == 4096


def test_file_cut_mid_record_counts_an_error_and_keeps_the_good_records():
    good = [warcgen.page(warcgen.ARTICLE, url=f"https://a/{i}") for i in range(3)]
    data = warcgen.gz(*good)
    docs, counts = read(data[: len(data) - 200])
    assert [d.url for d in docs] == ["https://a/0", "https://a/1"]
    assert counts["errors.read.incomplete_record"] == 1
    assert accounted(counts) == counts["input.responses"]


def test_corrupt_gzip_member_resynchronises_at_the_next_member():
    members = [gzip.compress(warcgen.page(warcgen.ARTICLE, url=f"https://a/{i}")) for i in range(5)]
    bad = bytearray(members[2])
    bad[30:60] = b"\x00" * 30
    docs, counts = read(b"".join(members[:2] + [bytes(bad)] + members[3:]))
    assert [d.url for d in docs] == ["https://a/0", "https://a/1", "https://a/3", "https://a/4"]
    assert counts["file_errors.read.corrupt_gzip"] == 1


def test_uncompressed_warc_empty_file_non_warc_and_missing_file():
    docs, _ = read(warcgen.page(warcgen.ARTICLE) + warcgen.page(warcgen.ARTICLE, url="https://b/"))
    assert len(docs) == 2
    docs, counts = read(b"")
    assert docs == [] and counts["file_errors.read.not_warc"] == 1
    docs, counts = read(b"this is not a WARC file\n" * 50)
    assert docs == [] and counts["file_errors.read.not_warc"] == 1
    tally = Tally()
    assert list(read_warc(lambda: open("/no/such/file.warc.gz", "rb"), "x", ReadConfig(), tally)) == []
    assert tally.counts["file_errors.read.unreadable_file"] == 1


def test_garbage_http_head_is_an_error_not_a_crash():
    data = warcgen.gz(warcgen.record(b"NOT HTTP AT ALL\r\n\r\nbody", url="https://a/1"), warcgen.page(warcgen.ARTICLE, url="https://a/2"))
    docs, counts = read(data)
    assert [d.url for d in docs] == ["https://a/2"]
    assert counts["errors.read.bad_http"] == 1
    assert accounted(counts) == counts["input.responses"] == 2


def test_content_encoding_gzip_payload_is_decoded():
    body = gzip.compress(warcgen.ARTICLE.encode())
    data = warcgen.gz(warcgen.page(body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    docs, _ = read(data)
    assert "walk in the hills" in docs[0].html


def test_a_100_kb_url_is_read_and_no_record_is_lost():
    """fastwarc's default 32 KB header limit used to stop at such a record: it and the rest of
    its gzip member were lost, uncounted, and reported as a corrupt gzip."""
    long_url = "https://a.example/?q=" + "x" * 100_000
    for pack in (warcgen.gz, lambda *r: b"".join(r)):  # Common Crawl's .warc.gz, and plain .warc
        data = pack(warcgen.page(warcgen.ARTICLE, url="https://a/1"), warcgen.page(warcgen.ARTICLE, url=long_url),
                    warcgen.page(warcgen.ARTICLE, url="https://a/3"))
        docs, counts = read(data)
        assert [d.url for d in docs] == ["https://a/1", long_url, "https://a/3"]
        assert counts["input.responses"] == 3 and accounted(counts) == 3
        assert not any(k.startswith("file_errors.") for k in counts), counts


def test_a_header_beyond_the_limit_is_named_and_the_next_records_are_read():
    from webrefine.pipeline.io.warc import MAX_HEADER_BYTES

    huge = "https://a.example/" + "x" * (MAX_HEADER_BYTES + 10)
    data = warcgen.gz(warcgen.page(warcgen.ARTICLE, url="https://a/1"), warcgen.page(warcgen.ARTICLE, url=huge),
                      warcgen.page(warcgen.ARTICLE, url="https://a/3"))
    docs, counts = read(data)
    assert [d.url for d in docs] == ["https://a/1", "https://a/3"]
    assert counts["file_errors.read.header_too_long"] == 1 and "file_errors.read.corrupt_gzip" not in counts


GERMAN = "Die Vögel im Ruhrgebiet – größer als je zuvor. " * 20


def test_one_invalid_byte_keeps_a_utf8_page_utf8():
    # the reproducer: one stray cp1252 byte used to send the page to detection (cp1250)
    payload = ('<meta charset="utf-8"><p>' + GERMAN).encode() + b"\x96"
    text, codec = decode_html(payload, "utf-8")
    assert codec == "utf-8-repaired"
    assert text == '<meta charset="utf-8"><p>' + GERMAN + "\ufffd"
    # undeclared, and a character cut at the payload limit: the same
    text, codec = decode_html(("<p>" + GERMAN).encode()[:-1] + "ß".encode()[:1], None)
    assert codec == "utf-8-repaired" and text.endswith("zuvor.\ufffd") and "größer" in text


def test_legacy_pages_mislabelled_or_undeclared_are_still_detected():
    # A windows-1252 page declared UTF-8: every non-ASCII byte is invalid UTF-8 -> detection.
    legacy = ("<html><body><p>" + "Café crème, déjà vu – naïve façade; über alles. " * 20 + "</p></body></html>")
    for charset in ("utf-8", None):
        text, codec = decode_html(legacy.encode("cp1252"), charset)
        assert codec != "utf-8-repaired" and "\ufffd" not in text
        # (which legacy charset detection picks is charset_normalizer's call; its letters decode)
        assert text.count("Café") == 20 and text.count("über") == 20
    # A UTF-8 page with many invalid bytes (over 5% of its non-ASCII bytes) is not "repaired".
    mixed = ("<p>" + GERMAN).encode() + ("Grüße " * 10).encode("cp1252")
    assert decode_html(mixed, "utf-8")[1] != "utf-8-repaired"


def test_utf8_repairs_are_counted_in_stats():
    bad = warcgen.page(('<html><body><p>' + GERMAN + "</p></body></html>").encode() + b"\x96\x96",
                       headers={"Content-Type": "text/html; charset=utf-8"}, url="https://a/bad")
    good = warcgen.page(("<html><body><p>" + GERMAN + "</p></body></html>").encode(), url="https://a/good")
    legacy = warcgen.page(("<html><body><p>" + "Café crème, déjà vu. " * 20 + "</p></body></html>").encode("cp1252"),
                          headers={"Content-Type": "text/html; charset=windows-1252"}, url="https://a/legacy")
    docs, counts = read(warcgen.gz(bad, good, legacy))
    by_url = {d.url: d.html for d in docs}
    assert "größer" in by_url["https://a/bad"] and by_url["https://a/bad"].count("\ufffd") == 2
    assert "Café crème" in by_url["https://a/legacy"]
    assert counts["read.charset.utf-8-repaired"] == 1
    assert counts["read.utf8_invalid_bytes"] == 2
    assert counts["read.charset.utf-8"] == 1 and counts["read.charset.cp1252"] == 1


def test_a_charset_named_undefined_falls_back_instead_of_raising():
    # Python's "undefined" codec raises a plain UnicodeError (not UnicodeDecodeError) for any
    # input; Hypothesis found a page declaring it (tests/test_properties.py).
    text, codec = decode_html("<p>Grüße aus Köln</p>".encode(), "UNDEFINED")
    assert text == "<p>Grüße aus Köln</p>" and codec == "utf-8"
