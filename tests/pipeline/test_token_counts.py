"""Token counts everywhere and exact_substring_dedup's accounting, through the real CLI
(text-dataset input, DirectRunner): n_tokens, tokens per stage, cuts, rejects and the report."""
from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.filters import tokenizer
from webrefine.pipeline.cli import EXIT_OK, main
from webrefine.pipeline.stats.build import check_invariant

NOTICE = ("This article is provided for general information only and does not constitute legal, financial "
          "or medical advice. Always consult a qualified professional before acting on anything you read "
          "here, and check the date of publication, because rules and prices change often.")
CONFIG = {"name": "tokens", "stages": [
    {"gopher_quality": {"min_words": 20}},
    "exact_dedup",
    {"exact_substring_dedup": {"min_tokens": 20, "min_words": 30}},
], "output": {"rejects_per_reason": -1}}


def rows() -> list[dict]:
    rng = random.Random(4)
    vocab = ("river town market harbour boat morning evening people street school bridge garden market "
             "winter summer light station road field house village family story water").split()
    out = []
    for i in range(24):
        body = " ".join(rng.choice(vocab) for _ in range(rng.randrange(40, 90))).capitalize() + "."
        text = f"{body}\n{NOTICE}" if i % 3 else body
        out.append({"id": f"doc-{i:02d}", "url": f"https://example.com/{i}", "text": text,
                    "date": f"2024-01-{1 + i:02d}"})
    out.append({"id": "short", "url": "https://example.com/short", "date": "2024-02-01",
                "text": "A few words of its own before the notice that every page repeats.\n" + NOTICE})
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    path = tmp / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows()), path)
    (tmp / "cfg.yaml").write_text(yaml.safe_dump(CONFIG))
    out = tmp / "out"
    assert main(["run", "--config", str(tmp / "cfg.yaml"), "--input", str(path), "--output", str(out),
                 "--no-progress"]) == EXIT_OK
    return out


def test_documents_carry_their_token_count(run):
    docs = pq.read_table(run / "documents").to_pylist()
    tok = tokenizer.get("cl100k_base")
    assert docs and all(d["n_tokens"] == tok.count(d["text"]) > 0 for d in docs)
    stats = json.loads((run / "stats.json").read_text())
    assert stats["output"]["tokens"] == sum(d["n_tokens"] for d in docs) == stats["stages"][-1]["tokens_out"]


def test_tokens_flow_from_stage_to_stage(run):
    stats = json.loads((run / "stats.json").read_text())
    stages = stats["stages"]
    tok = tokenizer.get("cl100k_base")
    assert stages[0]["tokens_in"] == sum(tok.count(r["text"]) for r in rows())
    for a, b in zip(stages, stages[1:]):
        assert a["tokens_out"] == b["tokens_in"] and a["chars_out"] == b["chars_in"]
    assert check_invariant(stats)[0] == check_invariant(stats)[1]


def test_substring_cuts_are_accounted(run):
    stats = json.loads((run / "stats.json").read_text())
    st = stats["stages"][-1]
    assert st["name"] == "exact_substring_dedup"
    # the notice stays in the first document that has it (doc-01, the earliest) and leaves 15 others;
    # "short" is left with fewer than 30 words and is dropped
    assert stats["counters"]["exact_substring_dedup.documents_cut"] == 16
    assert st["dropped"] == {"exact_substring_dedup.too_short": 1}
    dropped_chars = st["dropped_chars"]["exact_substring_dedup.too_short"]
    assert st["chars_in"] == st["chars_out"] + dropped_chars + st["chars_cut"]
    assert st["tokens_cut"] >= 16 * 20 and st["tokens_in"] > st["tokens_out"]
    docs = {d["id"]: d for d in pq.read_table(run / "documents").to_pylist()}
    assert NOTICE in docs["doc-01"]["text"] and all(NOTICE not in d["text"] for i, d in docs.items() if i != "doc-01")
    signals = [{s["name"]: s["value"] for s in d["signals"]} for d in docs.values()]
    short_cut = len(NOTICE) + 1  # the notice and the newline before it
    assert sum(s["exact_substring_dedup.chars_cut"] for s in signals) == st["chars_cut"] - short_cut
    spans = stats["top"]["exact_substring_dedup.cut_spans"]
    assert spans[0]["text"] == NOTICE and spans[0]["occurrences"] == 17
    rejects = [r for r in pq.read_table(run / "rejects").to_pylist() if r["stage"] == "exact_substring_dedup"]
    assert [(r["id"], r["reason"]) for r in rejects] == [("short", "exact_substring_dedup.too_short")]
    assert NOTICE not in rejects[0]["text"]  # the text as cut


def test_report_shows_tokens_and_cut_spans(run):
    html = (run / "report.html").read_text()
    assert 'id="funnel-tokens"' in html and "cl100k_base tokens" in html
    assert 'id="cut-spans-exact_substring_dedup"' in html and "does not constitute legal" in html


def test_a_tokenizer_that_cannot_load_is_a_usage_error_before_the_run(tmp_path, capsys):
    from webrefine.pipeline.cli import EXIT_USAGE

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.Table.from_pylist(rows()[:2]), path)
    config = {**CONFIG, "stages": [{"exact_substring_dedup": {"tokenizer": str(tmp_path / "missing" / "tokenizer.json")}}]}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", "--config", str(tmp_path / "cfg.yaml"), "--input", str(path), "--output",
                 str(tmp_path / "out"), "--no-progress"]) == EXIT_USAGE
    assert "exact_substring_dedup.tokenizer: cannot load tokenizer" in capsys.readouterr().err
    assert not (tmp_path / "out" / "stats.json").exists()


def test_each_text_is_tokenized_once_through_the_dedup_stages(tmp_path, monkeypatch):
    """tokens_in/out of every stage and output.tokens come from one count per distinct text,
    carried on the Document across the shuffles (DirectRunner, in-process)."""
    tok = tokenizer.get("cl100k_base")
    counted = []
    real = tok._count
    monkeypatch.setattr(tok, "_count", lambda text: counted.append(text) or real(text))
    monkeypatch.setattr(tok, "_cache", type(tok._cache)())
    path = tmp_path / "docs.parquet"
    docs = rows()
    pq.write_table(pa.Table.from_pylist(docs), path)
    cfg = {"name": "once", "stages": ["exact_dedup", "url_dedup", {"minhash_dedup": {"preset": "fineweb"}}]}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    assert main(["run", "--config", str(tmp_path / "cfg.yaml"), "--input", str(path), "--output", str(out),
                 "--no-progress"]) == EXIT_OK
    stats = json.loads((out / "stats.json").read_text())
    assert stats["output"]["tokens"] == sum(real(t) for t in pq.read_table(out / "documents").column("text").to_pylist())
    assert sorted(counted) == sorted(d["text"] for d in docs)  # every input text once, no text twice
