"""The dedup stages compare DocRefs while the texts stay in the work area (dedup/refs.py): the
results file's gzip members, reading a chunk back, and a whole run whose files span many chunks."""
import gzip
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from webrefine.dedup.refs import digest, ref_of
from webrefine.dedup.select import full_key
from webrefine.filters.document import Document
from webrefine.pipeline.beam import per_file
from webrefine.pipeline.cli import EXIT_OK, main
from webrefine.pipeline.config import ConfigError, parse_config
from webrefine.pipeline.workarea import document_json


def write_results(path, docs, chunk, between=b""):
    """``docs`` through the real writer, a line of another kind before each document."""
    with open(path, "wb") as raw:
        out = per_file.ResultsWriter(raw)
        offsets = []
        for doc in docs:
            if between:
                out.other(between)
            offsets.append(out.doc(json.dumps({"doc": document_json(doc)}).encode() + b"\n"))
        out.other(b'{"tally": {}}\n')
        out.close()
    return offsets


def test_each_chunk_of_documents_is_its_own_gzip_member_and_the_file_is_one_gzip_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(per_file, "CHUNK_DOCS", 3)
    docs = [Document(id=f"d{i}", url=f"https://e.org/{i}", text=f"text {i} " * (i + 1)) for i in range(8)]
    offsets = write_results(tmp_path / "k.jsonl.gz", docs, 3, between=b'{"rejection": {}}\n')
    assert offsets == [offsets[0]] * 3 + [offsets[3]] * 3 + [offsets[6]] * 2
    assert 0 < offsets[0] < offsets[3] < offsets[6]  # the rejection line before d0 is a member of its own
    lines = gzip.decompress((tmp_path / "k.jsonl.gz").read_bytes()).splitlines()  # every member, in order
    assert [json.loads(x)["doc"]["id"] for x in lines if x.startswith(b'{"doc"')] == [d.id for d in docs]
    # a chunk read back: only the rows asked for, in row order, whole
    got = list(per_file.documents_at(str(tmp_path), "k", offsets[3], {5: None, 3: None}))
    assert got == [(3, docs[3]), (5, docs[5])]
    assert list(per_file.documents_at(str(tmp_path), "k", offsets[6], [7])) == [(7, docs[7])]


def test_a_cut_short_chunk_is_an_error_not_missing_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(per_file, "CHUNK_DOCS", 2)
    docs = [Document(id=f"d{i}", url="", text="x" * 2000 + str(i)) for i in range(4)]
    offsets = write_results(tmp_path / "k.jsonl.gz", docs, 2)
    data = (tmp_path / "k.jsonl.gz").read_bytes()
    (tmp_path / "k.jsonl.gz").write_bytes(data[: offsets[2] + 20])
    with pytest.raises(RuntimeError, match="cut short"):
        list(per_file.documents_at(str(tmp_path), "k", offsets[2], [2]))


def test_a_reference_orders_like_its_document_and_carries_what_the_stages_count():
    doc = Document(id="a", url="https://e.org/a", text="héllo  world", date="2024-01-01T00:00:00Z", n_tokens=2)
    ref = ref_of(doc, "file", 7, 123, lambda t: t.encode()[:4])
    assert (ref.row, ref.offset, ref.text_key, ref.n_chars, ref.n_tokens) == (7, 123, b"h\xc3\xa9l", 12, 2)
    assert full_key(ref)[:4] == full_key(doc)[:4] and full_key(ref)[-1] == digest(doc.text)
    other = ref_of(doc.replace(text="hello world"), "file", 8, 123)
    assert full_key(ref) != full_key(other) and other.text_key is None
    assert dict(ref.with_signal("m.cluster_size", 3.0).signals) == {"m.cluster_size": 3.0}


def test_exact_substring_dedup_must_come_last():
    with pytest.raises(ConfigError, match="exact_substring_dedup' must be the last dedup stage"):
        parse_config({"stages": ["exact_substring_dedup", "minhash_dedup"]})
    parse_config({"stages": ["minhash_dedup", "exact_substring_dedup"]})


def test_a_run_whose_files_span_many_chunks_keeps_each_planted_group_once(tmp_path, monkeypatch):
    """In-process run, chunks of 7 documents: every dedup read crosses member boundaries."""
    monkeypatch.setattr(per_file, "CHUNK_DOCS", 7)
    rng = random.Random(5)
    words = [f"w{i}" for i in range(3000)]
    rows, group = [], {}
    for g in range(40):
        base = [rng.choice(words) for _ in range(150)]
        copies = 1 + g % 3  # 1, 2 or 3 members: an original, an exact copy, a near copy
        for c in range(copies):
            text = list(base)
            if c == 2:
                text[70] = "changed"
            i = f"g{g:02d}-{c}"
            rows.append({"id": i, "url": f"https://e.org/{i}", "text": " ".join(text),
                         "date": f"2024-01-{1 + c:02d}T00:00:00Z"})
            group[i] = g
    rng.shuffle(rows)
    src = tmp_path / "in"
    src.mkdir()
    for f in range(3):
        pq.write_table(pa.Table.from_pylist(rows[f::3]), src / f"part{f}.parquet")
    out = tmp_path / "out"
    assert main(["run", "--config", "dedup", "--input", str(src / "*.parquet"), "--output", str(out),
                 "--no-progress"]) == EXIT_OK
    docs = pq.read_table(out / "documents").to_pylist()
    assert sorted(group[d["id"]] for d in docs) == list(range(40))  # each group exactly once
    assert all(d["id"].endswith("-0") for d in docs)  # the earliest copy survives
    texts = {r["id"]: r["text"] for r in rows}
    assert all(d["text"] == texts[d["id"]] for d in docs)
    stats = json.loads((out / "stats.json").read_text())
    minhash = next(s for s in stats["stages"] if s["name"] == "minhash_dedup")
    assert minhash["dropped"] == {"minhash_dedup.duplicate": 13}  # groups 2, 5, ..., 38 have a near copy
    assert not (out / "_work").exists()
    # what minhash_dedup's steps sent one another all arrived; one lost message fails the run
    from webrefine.pipeline.cli import EXIT_FAILED, exit_status
    counters = stats["counters"]
    for what in ("marks", "shingle_requests", "records", "decisions", "cc_messages", "cc_nodes", "cc_members"):
        assert counters[f"minhash_dedup.{what}_sent"] == counters[f"minhash_dedup.{what}_received"] > 0, what
    assert exit_status(stats) == EXIT_OK
    stats["counters"]["minhash_dedup.marks_received"] -= 1
    assert exit_status(stats) == EXIT_FAILED
