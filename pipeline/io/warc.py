"""Reading WARC files into Documents with fastwarc (docs/rules.md, Reading WARC), accounting for every record.

Per response record: HTTP 200 with an HTML payload becomes a Document (id = WARC-Record-ID,
url, date, source file, decoded HTML); any other response is a counted drop of the
``read`` stage; a record that cannot be parsed is a counted error. A corrupt gzip member
costs only the records inside it: reading resumes at the next gzip member. Nothing here
raises out of ``read_warc``: bad input is counted, never fatal.
"""
from __future__ import annotations

import codecs
import re
import zlib
from typing import BinaryIO, Callable, Iterator

from fastwarc.warc import ArchiveIterator, WarcRecordType, has_block_digest

from webrefine.filters.document import Document
from webrefine.pipeline.config import ReadConfig
from webrefine.pipeline.stats.tally import Tally

HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_SNIFF = re.compile(rb"<(?:!doctype\s+html|html|head|body|title|meta|div|p)[\s>/]", re.IGNORECASE)
_GZIP_MAGIC = b"\x1f\x8b\x08"
READ = "read"  # stage name of the reader's drops in stats.json

# Reasons: stage drops are well-formed responses we do not want; errors are records we
# could not read (the record's content is lost, so users must see them separately).
DROP_STATUS = "read.http_status"
DROP_NOT_HTML = "read.not_html"
DROP_TRUNCATED = "read.truncated"
ERR_HTTP = "read.bad_http"
ERR_INCOMPLETE = "read.incomplete_record"
ERR_RECORD = "read.bad_record"
FILE_UNREADABLE = "read.unreadable_file"
FILE_CORRUPT = "read.corrupt_gzip"
FILE_NOT_WARC = "read.not_warc"
FILE_HEADER_TOO_LONG = "read.header_too_long"
# fastwarc refuses WARC headers over 32 KB by default and stops with "Maximum header length
# exceeded": one record with a 100 KB URL then cost its whole gzip member, uncounted, reported
# as a corrupt gzip. Real headers are a few hundred bytes; a long URL (query strings, tracking
# blobs) is still a page, so headers up to this size are read like any other.
MAX_HEADER_BYTES = 4 << 20


def is_html(content_type: str | None, payload_head: bytes) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    return bool(_SNIFF.search(payload_head[:2048]))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None


# A page that fails strict decoding under every declared charset and under UTF-8 is still
# UTF-8 when its invalid bytes are at most this share of its non-ASCII bytes: a stray byte or
# a character cut at the payload limit must not send the whole page to charset detection,
# which then reads every UTF-8 character as two or three legacy ones ("größer" -> "grĂ¶Ăźer").
# A page really in a legacy charset has nearly all of its non-ASCII bytes invalid as UTF-8
# (valid multi-byte sequences almost never occur by chance in such text) and is detected.
# Only UTF-8 is repaired this way: it validates itself. Legacy multi-byte charsets do not (a
# cp1252 page read as GBK or Shift-JIS pairs most accented letters with the next byte into
# some valid character), so a declared legacy charset that fails still goes to detection.
UTF8_MAX_INVALID_SHARE = 0.05
UTF8_REPAIRED = "utf-8-repaired"  # the codec name counted (read.charset.utf-8-repaired)
_ASCII = bytes(range(128))
_ESCAPED = re.compile("[\udc80-\udcff]")


def _utf8_with_few_errors(payload: bytes) -> tuple[str, int] | None:
    """(text, invalid bytes replaced) when ``payload`` is UTF-8 apart from a few invalid bytes."""
    escaped = payload.decode("utf-8", "surrogateescape")
    invalid = len(_ESCAPED.findall(escaped))
    non_ascii = len(payload.translate(None, _ASCII))
    if not invalid or invalid > UTF8_MAX_INVALID_SHARE * non_ascii:
        return None
    return payload.decode("utf-8", "replace"), invalid


def decode_html(payload: bytes, http_charset: str | None, tally: Tally | None = None) -> tuple[str, str]:
    """Decode a page: HTTP charset, then <meta> charset, then UTF-8, then UTF-8 with a few
    invalid bytes replaced (counted in ``tally``: ``read.utf8_invalid_bytes``), then detection.

    Never raises: the last resort is UTF-8 with replacement characters. Returns
    (text, the codec used).
    """
    tried = set()
    meta = _META_CHARSET.search(payload[:4096])
    for name in (http_charset, meta.group(1).decode("ascii", "ignore") if meta else None, "utf-8"):
        codec = _codec(name)
        if codec is None or codec in tried:
            continue
        tried.add(codec)
        try:
            return payload.decode(codec), codec
        except (UnicodeError, LookupError):  # "undefined" raises a plain UnicodeError
            continue
    repaired = _utf8_with_few_errors(payload)
    if repaired is not None:
        if tally is not None:
            tally.count("read.utf8_invalid_bytes", repaired[1])
        return repaired[0], UTF8_REPAIRED
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(payload[:65536]).best()
        if best is not None and best.encoding:
            return payload.decode(best.encoding, errors="replace"), best.encoding
    except Exception:  # noqa: BLE001 - detection is best effort
        pass
    return payload.decode("utf-8", errors="replace"), "utf-8-replace"


def _header(record, name: str) -> str | None:
    value = record.headers.get(name)
    return value if value else None


def _page(record, source: str, cfg: ReadConfig, tally: Tally) -> Document | None:
    """One response record → Document, or None after counting why not."""
    tally.count("stage.read.in")
    url = _header(record, "WARC-Target-URI") or ""
    if has_block_digest(record) and not record.verify_block_digest(consume=False):
        # A record cut off by the end of the file (or damaged) fails its block digest;
        # fastwarc would otherwise hand over the partial payload as if it were whole.
        tally.count("errors." + ERR_INCOMPLETE)
        tally.sample("errors." + ERR_INCOMPLETE, record.record_id or url, {"file": source, "url": url})
        return None
    try:
        record.parse_http()
        http = record.http_headers
        status = http.status_code if http is not None else None
    except Exception:  # noqa: BLE001
        status = None
    if status is None:
        tally.count("errors." + ERR_HTTP)
        tally.sample("errors." + ERR_HTTP, record.record_id or url, {"file": source, "url": url})
        return None
    if status != 200:
        tally.count("stage.read.dropped." + DROP_STATUS)
        tally.observe("read.http_status", status)
        tally.sample("dropped." + DROP_STATUS, record.record_id or url,
                     {"id": record.record_id, "url": url, "text": "", "signals": {"http_status": status}})
        return None
    content_type = _header(record, "WARC-Identified-Payload-Type") or record.http_content_type
    payload = record.reader.read(cfg.max_payload_bytes + 1)
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate", "br"):
        payload = _decompress(payload, encoding, cfg.max_payload_bytes + 1)
    cut = len(payload) > cfg.max_payload_bytes
    payload = payload[: cfg.max_payload_bytes]
    if not is_html(content_type, payload):
        tally.count("stage.read.dropped." + DROP_NOT_HTML)
        tally.sample("dropped." + DROP_NOT_HTML, record.record_id or url,
                     {"id": record.record_id, "url": url, "text": f"Content-Type: {content_type}", "signals": {}})
        return None
    truncated = bool(_header(record, "WARC-Truncated")) or cut
    if truncated and not cfg.keep_truncated:
        tally.count("stage.read.dropped." + DROP_TRUNCATED)
        return None
    html, codec = decode_html(payload, record.http_charset, tally)
    tally.count(f"read.charset.{codec}")
    if truncated:
        tally.count("read.truncated_kept")
    tally.count("stage.read.out")
    tally.count("stage.read.chars_out", len(html))
    return Document(
        id=record.record_id or "",
        url=url,
        date=_header(record, "WARC-Date") or "",
        source=source,
        html=html,
        truncated=truncated,
    )


def _decompress(data: bytes, encoding: str, limit: int) -> bytes:
    """Undo a Content-Encoding, at most ``limit`` bytes out (no decompression bombs).

    A payload that is not really compressed (a wrong header) is returned as it is.
    """
    try:
        if encoding == "br":
            import brotli

            return brotli.decompress(data)[:limit]
        wbits = 47 if encoding in ("gzip", "x-gzip") else 15  # 47: gzip or zlib header
        return zlib.decompressobj(wbits).decompress(data, limit)
    except Exception:  # noqa: BLE001
        try:
            return zlib.decompressobj(-15).decompress(data, limit)  # raw deflate
        except zlib.error:
            return data


def read_warc(
    open_file: Callable[[], BinaryIO], source: str, cfg: ReadConfig, tally: Tally
) -> Iterator[Document]:
    """All pages of one WARC file (.warc or multi-member .warc.gz); counts go to ``tally``."""
    tally.count("input.files")
    try:
        stream = open_file()
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable file is counted
        _file_error(tally, FILE_UNREADABLE, source, repr(exc))
        return
    with stream:
        head = stream.read(3)
        marker = _GZIP_MAGIC if head == _GZIP_MAGIC else b"WARC/1."
        offset: int | None = 0
        seen_any = False
        corrupt: list[str] = []  # one entry per damaged stretch, reported at the end
        records_since_error = 1
        while offset is not None:
            base, offset = offset, None
            search_from = base + 1  # always move forward, so resynchronising ends
            try:
                stream.seek(base)
                for record in _records(stream):
                    seen_any = True
                    records_since_error += 1
                    # stream_pos counts from where this iterator started.
                    search_from = base + record.stream_pos + 1
                    tally.count("input.records")
                    if record.record_type != WarcRecordType.response:
                        continue
                    tally.count("input.responses")
                    try:
                        page = _page(record, source, cfg, tally)
                    except Exception as exc:  # noqa: BLE001 - a malformed record is counted
                        tally.count("errors." + ERR_RECORD)
                        where = base + record.stream_pos
                        tally.sample("errors." + ERR_RECORD, f"{source}@{where}",
                                     {"file": source, "offset": where, "error": repr(exc)[:300]})
                        continue
                    if page is not None:
                        yield page
            except Exception as exc:  # noqa: BLE001 - corrupt data: resynchronise
                if records_since_error:  # a failed resync attempt is the same damage
                    reason = FILE_HEADER_TOO_LONG if "header length" in str(exc) else FILE_CORRUPT
                    corrupt.append((reason, f"after byte {search_from - 1}: {exc!r}"[:300]))
                records_since_error = 0
                offset = _next_member(stream, search_from, marker)
        if not seen_any:
            detail = "no WARC record found" + (f" ({corrupt[0][1]})" if corrupt else "")
            _file_error(tally, FILE_NOT_WARC, source, detail)
        else:
            for reason, detail in corrupt:
                _file_error(tally, reason, source, detail)


def _records(stream: BinaryIO):
    try:
        return ArchiveIterator(stream, parse_http=False, auto_decode="all", max_header_len=MAX_HEADER_BYTES)
    except TypeError:  # fastwarc before max_header_len (setup.py allows >= 0.15): its own limit
        return ArchiveIterator(stream, parse_http=False, auto_decode="all")


def _next_member(stream: BinaryIO, start: int, marker: bytes) -> int | None:
    """Offset of the next ``marker`` (a gzip member or a WARC header) at or after ``start``."""
    stream.seek(start)
    pos, tail = start, b""
    while True:
        block = stream.read(1 << 20)
        if not block:
            return None
        data = tail + block
        hit = data.find(marker)
        if hit >= 0:
            return pos - len(tail) + hit
        tail = data[-(len(marker) - 1):]
        pos += len(block)


def _file_error(tally: Tally, reason: str, source: str, detail: str) -> None:
    tally.count("file_errors." + reason)
    tally.sample("file_errors." + reason, f"{source}:{detail}", {"file": source, "detail": detail})
