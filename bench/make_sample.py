"""Cut the bundled sample WARC (pipeline/data/sample.warc.gz) from ../shared/data/cc-sample.

Copies whole gzip members (one record each), so the records stay byte-identical to the
originals. The selection covers what the pipeline must handle: English pages to keep,
other languages, redirects and 404s, PDFs and images, a page without a payload type, a
legacy charset, a truncated record, exact duplicates (?utm_source=feed) and mirrored
near-duplicates. Run: python bench/make_sample.py [CC_SAMPLE_DIR] [OUT]
"""
import glob
import os
import re
import sys

from fastwarc.warc import ArchiveIterator, WarcRecordType

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../shared/data/cc-sample")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../pipeline/data/sample.warc.gz")


def members(path):
    """(record, start, end) of every record; each record is its own gzip member."""
    data = open(path, "rb").read()
    recs = []
    for r in ArchiveIterator(open(path, "rb"), parse_http=False):
        info = {"type": r.record_type, "start": r.stream_pos, "url": r.headers.get("WARC-Target-URI"),
                "ptype": r.headers.get("WARC-Identified-Payload-Type"), "trunc": r.headers.get("WARC-Truncated"),
                "concurrent": r.headers.get("WARC-Concurrent-To"), "id": r.record_id}
        if r.record_type == WarcRecordType.response:
            r.parse_http()
            info["status"] = r.http_headers.status_code
            info["ctype"] = r.http_content_type
            info["charset"] = r.http_charset
            head = r.reader.read(4096)
            info["lang_en"] = bool(re.search(rb'<html[^>]*lang="en', head, re.I))
        recs.append(info)
    for a, b in zip(recs, recs[1:] + [{"start": len(data)}]):
        a["end"] = b["start"]
    return data, recs


def main():
    chosen, blobs = [], []
    files = sorted(glob.glob(os.path.join(SRC, "*.warc.gz")))
    all_recs = []
    for path in files:
        data, recs = members(path)
        for r in recs:
            r["data"] = data[r["start"]:r["end"]]
        all_recs += recs
    responses = [r for r in all_recs if r["type"] == WarcRecordType.response]
    by_url = {r["url"]: r for r in responses}
    pick = []

    def take(rs, n):
        for r in rs:
            if n and r not in pick:
                pick.append(r)
                n -= 1

    take([r for r in responses if r["status"] == 301], 2)
    take([r for r in responses if r["status"] == 404], 2)
    take([r for r in responses if r["status"] == 200 and (r["ctype"] or "").startswith("application/pdf")], 2)
    take([r for r in responses if r["status"] == 200 and (r["ctype"] or "").startswith("image/")], 1)
    take([r for r in responses if r["status"] == 200 and not r["ptype"]], 2)
    take([r for r in responses if r["trunc"]], 1)
    take([r for r in responses if (r["charset"] or "").lower() in ("windows-1252", "cp1252")], 2)
    for r in [r for r in responses if r["url"].endswith("?utm_source=feed")]:
        orig = by_url.get(r["url"][: -len("?utm_source=feed")])
        if orig is not None and orig["lang_en"] and len([x for x in pick if x["url"].endswith("utm_source=feed")]) < 3:
            take([orig, r], 2)
    mirrors = [r for r in responses if re.match(r"https?://mirror-\d+\.", r["url"])]
    paths = {re.sub(r"^https?://[^/]+", "", r["url"]): r for r in responses if not re.match(r"https?://mirror-", r["url"])}
    n = 0
    for m in mirrors:
        orig = paths.get(re.sub(r"^https?://[^/]+", "", m["url"]))
        if orig is not None and orig["lang_en"] and n < 3:
            take([orig, m], 2)
            n += 1
    take([r for r in responses if r["status"] == 200 and r["lang_en"]], 52 - len(pick))
    take([r for r in responses if r["status"] == 200 and not r["lang_en"]], 60 - len(pick))
    # One warcinfo, and the request + metadata records of the first five responses.
    ids = {r["id"] for r in pick[:5]}
    extra = [r for r in all_recs if r["type"] == WarcRecordType.warcinfo][:1]
    extra += [r for r in all_recs if r["type"] in (WarcRecordType.request, WarcRecordType.metadata)
              and r["concurrent"] in ids]
    with open(OUT, "wb") as fh:
        for r in extra[:1] + pick + extra[1:]:
            fh.write(r["data"])
    print(f"{OUT}: {len(pick)} responses, {len(extra)} other records, {os.path.getsize(OUT):,} bytes")


if __name__ == "__main__":
    main()
