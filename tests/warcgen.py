"""Build WARC files byte by byte for tests: good records, and every kind of broken one."""
from __future__ import annotations

import base64
import gzip
import hashlib
import uuid


def http_response(body: bytes, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}"]
    for k, v in (headers if headers is not None else {"Content-Type": "text/html; charset=utf-8"}).items():
        head.append(f"{k}: {v}")
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def record(block: bytes, rtype: str = "response", url: str = "https://example.com/",
           extra: dict[str, str] | None = None, digest: bool = True, record_id: str | None = None,
           date: str = "2024-05-18T01:00:00Z") -> bytes:
    rid = record_id or f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url + rtype + str(len(block)))}>"
    headers = {
        "WARC-Type": rtype,
        "WARC-Record-ID": rid,
        "WARC-Date": date,
        "WARC-Target-URI": url,
        "Content-Type": "application/http; msgtype=response" if rtype == "response" else "application/warc-fields",
    }
    if digest:
        headers["WARC-Block-Digest"] = "sha1:" + base64.b32encode(hashlib.sha1(block).digest()).decode()
    headers.update(extra or {})
    headers["Content-Length"] = str(len(block))
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v is not None) + "\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


def page(html: str | bytes, url: str = "https://example.com/", **kw) -> bytes:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return record(http_response(body, **{k: v for k, v in kw.items() if k in ("status", "headers")}),
                  url=url, **{k: v for k, v in kw.items() if k not in ("status", "headers")})


def gz(*records: bytes) -> bytes:
    """One gzip member per record, as Common Crawl writes them."""
    return b"".join(gzip.compress(r) for r in records)


ARTICLE = (
    "<html><head><title>A walk in the hills</title></head><body><nav>Home | About | Contact</nav>"
    "<article><h1>A walk in the hills</h1>"
    + "".join(
        f"<p>On the {i}th morning we walked up the old road to the ridge, where the wind was cold and the "
        "view stretched over the valley to the sea. The path is steep but well kept, and the village at "
        "the top has a small bakery that sells bread and coffee to the people who make the climb.</p>"
        for i in range(6)
    )
    + "</article><footer>Copyright 2024</footer></body></html>"
)
