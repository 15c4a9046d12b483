"""--dedup-against: the real CLI, DirectRunner in-process, runs deduplicated against earlier runs'
indexes, compared with one run over all of their documents (docs/rules.md, Incremental dedup)."""
import json
import random
import signal
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from webrefine.dedup import earlier
from webrefine.pipeline.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

CONFIG = {"name": "incremental", "stages": ["exact_dedup", {"url_dedup": {"survivor": "earliest"}}, "minhash_dedup"],
          "output": {"rejects_per_reason": -1}}
WORDS = [f"w{i}" for i in range(4000)]


def base(seed, n=120):
    rng = random.Random(seed)
    return [rng.choice(WORDS) for _ in range(n)]


def changed(words, *positions):
    """A near-duplicate: each changed word alters 5 of ~116 shingles (positions ≥ 5 apart):
    one or two changes keep Jaccard ≥ 0.84, four give about 0.71."""
    words = list(words)
    for p in positions:
        words[p] = f"x{p}"
    return words


def doc(i, words, date, url=None):
    return {"id": i, "url": url or f"https://ex.com/{i}", "text": " ".join(words), "date": date}


A0 = changed(base(0), 20, 40)  # a10: near a0, dropped by A; b_of_dropped: near a10 only
A = [doc(f"a{i}", base(i), f"2023-01-{i + 1:02d}T00:00:00Z") for i in range(10)] + [
    doc("a10", A0, "2023-02-01T00:00:00Z")]
B = [
    doc("b_exact", base(1), "2024-01-01T00:00:00Z"),  # the text of a1
    doc("b_url", base(20), "2024-01-01T00:00:00Z", url="HTTPS://EX.com:443/a2#top"),  # a2's URL, normalised
    doc("b_near", changed(base(3), 60), "2024-01-01T00:00:00Z"),  # near a3
    doc("b_chain1", changed(base(4), 10, 30), "2024-01-01T00:00:00Z"),  # near a4
    doc("b_chain2", changed(base(4), 10, 30, 70, 90), "2024-01-02T00:00:00Z"),  # near b_chain1, not a4
    doc("b_pair1", base(30), "2024-01-01T00:00:00Z"), doc("b_pair2", base(30), "2024-02-01T00:00:00Z"),
    doc("b_npair1", base(31), "2024-01-01T00:00:00Z"), doc("b_npair2", changed(base(31), 50), "2024-02-01T00:00:00Z"),
    doc("b_u1", base(32), "2024-01-01T00:00:00Z"), doc("b_u2", base(33), "2024-01-01T00:00:00Z"),
    # where one run over A+B differs (docs/rules.md): a B document older than its A duplicate, and one
    # near only a document A itself dropped
    doc("b_old", base(5), "2020-01-01T00:00:00Z"),
    doc("b_of_dropped", changed(A0, 70, 90), "2024-01-01T00:00:00Z"),
]
C = [
    doc("c_a", base(5), "2025-01-01T00:00:00Z"),  # text of a5 (and of b_old, which B dropped)
    doc("c_b", base(32), "2025-01-01T00:00:00Z"),  # text of b_u1, kept by B
    doc("c_bnear", changed(base(33), 80), "2025-01-01T00:00:00Z"),  # near b_u2
    doc("c_new", base(40), "2025-01-01T00:00:00Z"),
]
DIFFERENT_FROM_ONE_RUN = {"b_old": "one run keeps it", "b_of_dropped": "incremental keeps it"}


def write(path, rows):
    pq.write_table(pa.Table.from_pylist(rows), path)
    return str(path)


def cli(tmp, out, inputs, *more, config=CONFIG):
    cfg = tmp / f"cfg-{config['name']}.yaml"
    cfg.write_text(yaml.safe_dump(config))
    args = ["run", "--config", str(cfg), "--no-progress", "--output", str(out)]
    for path in inputs:
        args += ["--input", path]
    return main([*args, *more])


def kept(out):
    return set(pq.read_table(out / "documents").column("id").to_pylist())


def rejects(out):
    rows = pq.read_table(out / "rejects").to_pylist()
    return {r["id"]: (r["stage"], r["reason"], r["matched_run"], r["matched_id"]) for r in rows}


def stats(out):
    return json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incr")
    a, b, c = write(tmp / "a.parquet", A), write(tmp / "b.parquet", B), write(tmp / "c.parquet", C)
    out = {name: tmp / name for name in ("A", "B", "C", "AB", "ABC")}
    assert cli(tmp, out["A"], [a]) == EXIT_OK
    assert cli(tmp, out["B"], [b], "--dedup-against", str(out["A"])) == EXIT_OK
    assert cli(tmp, out["C"], [c], "--dedup-against", str(out["A"]), "--dedup-against", str(out["B"])) == EXIT_OK
    assert cli(tmp, out["AB"], [a, b]) == EXIT_OK
    assert cli(tmp, out["ABC"], [a, b, c]) == EXIT_OK
    return tmp, out


def test_the_earlier_run_keeps_what_it_should(runs):
    _, out = runs
    assert kept(out["A"]) == {f"a{i}" for i in range(10)}  # a10 is a near-duplicate of a0
    assert rejects(out["A"])["a10"][:2] == ("minhash_dedup", "minhash_dedup.duplicate")


def test_exact_url_and_near_duplicates_of_earlier_documents_are_dropped_and_name_what_they_matched(runs):
    _, out = runs
    a = str(out["A"])
    got = rejects(out["B"])
    assert got["b_exact"] == ("exact_dedup", "exact_dedup.duplicate", a, "a1")
    assert got["b_old"] == ("exact_dedup", "exact_dedup.duplicate", a, "a5")
    assert got["b_url"] == ("url_dedup", "url_dedup.duplicate", a, "a2")
    assert got["b_near"] == ("minhash_dedup", "minhash_dedup.duplicate", a, "a3")
    # b_chain2 is below the threshold against a4 but in its cluster through b_chain1
    assert got["b_chain1"] == got["b_chain2"] == ("minhash_dedup", "minhash_dedup.duplicate", a, "a4")
    # duplicates within the new run alone: as always, no earlier match
    assert got["b_pair2"] == ("exact_dedup", "exact_dedup.duplicate", None, None)
    assert got["b_npair2"] == ("minhash_dedup", "minhash_dedup.duplicate", None, None)
    assert kept(out["B"]) == {"b_pair1", "b_npair1", "b_u1", "b_u2", "b_of_dropped"}


def test_earlier_documents_are_never_emitted_or_counted(runs):
    _, out = runs
    st = stats(out["B"])
    assert st["input"]["rows"] == len(B) and st["output"]["documents"] == 5
    stages = {s["name"]: s for s in st["stages"]}
    assert stages["exact_dedup"]["in"] == len(B)
    assert stages["exact_dedup"]["dropped"] == {"exact_dedup.duplicate": 3}
    assert stages["url_dedup"]["in"] == len(B) - 3 and stages["url_dedup"]["out"] == len(B) - 4
    assert stages["minhash_dedup"]["dropped"] == {"minhash_dedup.duplicate": 4}
    assert stages["minhash_dedup"]["out"] == 5
    assert not any(i.startswith("a") for i in kept(out["B"]) | set(rejects(out["B"])))


def test_incremental_runs_keep_what_one_run_over_all_documents_keeps(runs):
    """A then B against A keeps B's documents as one run over A+B does, A's being earlier by
    the survivor order; the two documented exceptions are in B on purpose."""
    _, out = runs
    b_ids = {d["id"] for d in B}
    one_run = kept(out["AB"]) & b_ids
    incremental = kept(out["B"])
    assert one_run ^ incremental == set(DIFFERENT_FROM_ONE_RUN)
    assert "b_old" in one_run and "b_of_dropped" in incremental
    c_ids = {d["id"] for d in C}
    assert kept(out["C"]) == kept(out["ABC"]) & c_ids == {"c_new"}


def test_a_chain_of_three_runs_names_the_earlier_run_each_document_matched(runs):
    _, out = runs
    a, b = str(out["A"]), str(out["B"])
    got = rejects(out["C"])
    assert got["c_a"] == ("exact_dedup", "exact_dedup.duplicate", a, "a5")
    assert got["c_b"] == ("exact_dedup", "exact_dedup.duplicate", b, "b_u1")
    assert got["c_bnear"] == ("minhash_dedup", "minhash_dedup.duplicate", b, "b_u2")


def test_stats_and_report_say_how_many_documents_each_earlier_run_removed(runs):
    _, out = runs
    st = stats(out["C"])
    ids = [json.loads((out[r] / "index" / "_manifest.json").read_text())["run_id"] for r in ("A", "B")]
    assert [(r["path"], r["run_id"], r["documents"]) for r in st["dedup_against"]] == [
        (str(out["A"]), ids[0], 10), (str(out["B"]), ids[1], 5)]
    assert st["dedup_against"][0]["removed"] == {"exact_dedup": 1, "url_dedup": 0, "minhash_dedup": 0}
    assert st["dedup_against"][1]["removed"] == {"exact_dedup": 1, "url_dedup": 0, "minhash_dedup": 1}
    assert st["counters"][f"minhash_dedup.matched_earlier.{ids[1]}"] == 1
    html = (out["C"] / "report.html").read_text()
    table = html[html.index('id="earlier-runs"'):]
    table = table[:table.index("</table>")]
    for run_id, cells in ((ids[0], ["1", "0", "0", "1"]), (ids[1], ["1", "0", "1", "2"])):
        row = table[table.index(f'data-run="{run_id}"'):]
        row = row[:row.index("</tr>")]
        assert [c.split("</td>")[0] for c in row.split("<td class=n>")[2:]] == cells, row
    b_stats = stats(out["B"])["dedup_against"][0]
    assert b_stats["removed"] == {"exact_dedup": 2, "url_dedup": 1, "minhash_dedup": 3}
    assert b_stats["removed_total"] == 6 and b_stats["removed"]["minhash_dedup"] == 3


def test_the_index_holds_the_final_documents_keys_and_where_they_are(runs):
    _, out = runs
    manifest = json.loads((out["B"] / "index" / "_manifest.json").read_text())
    assert manifest["format"] == earlier.FORMAT and manifest["documents"] == 5
    assert manifest["keys"]["minhash_dedup"]["bands"] == 450
    index = pq.read_table(out["B"] / "index").to_pylist()
    assert sorted(r["id"] for r in index) == sorted(kept(out["B"]))
    shards = {int(f.split("-")[1]): pq.read_table(out["B"] / "documents" / f).to_pylist()
              for f in manifest["document_files"]}
    for r in index:  # the locator finds the document, and the keys are its own
        d = shards[r["shard"]][r["row"]]
        assert d["id"] == r["id"] and len(r["bands"]) == 450 * 8 and len(r["text_key"]) == 16
        assert r["url_key"] == d["url"]
    assert manifest["bytes"]["index"] > 0 and manifest["bytes"]["documents"] > 0


def test_a_missing_or_incompatible_earlier_run_is_refused_before_anything_runs(runs, capsys):
    tmp, out = runs
    b = str(tmp / "b.parquet")
    new = tmp / "refused"
    cases = [
        ([str(tmp / "nowhere")], "does not exist"),
        ([str(tmp)], "holds no finished run's dedup index"),
        ([str(out["A"]), str(tmp / "gone")], "gone: does not exist"),
        ([str(new)], "that is this run's --output"),
    ]
    for paths, message in cases:
        assert cli(tmp, new, [b], "--dedup-against", *paths) == EXIT_USAGE
        assert message in capsys.readouterr().err
        assert not new.exists()
    fineweb = {**CONFIG, "name": "fineweb-minhash",
               "stages": ["exact_dedup", {"url_dedup": {"survivor": "earliest"}}, {"minhash_dedup": {"preset": "fineweb"}}]}
    assert cli(tmp, new, [b], "--dedup-against", str(out["A"]), config=fineweb) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "does not fit this config: minhash_dedup.bands is 450 there, 14 here" in err and not new.exists()
    parts = {**CONFIG, "name": "parts", "stages": ["exact_dedup", {"url_dedup": {"survivor": "earliest"}},
                                                   {"minhash_dedup": {"scope": "parts", "parts": 4}}]}
    assert cli(tmp, new, [b], "--dedup-against", str(out["A"]), config=parts) == EXIT_USAGE
    assert "minhash_dedup has scope: parts" in capsys.readouterr().err and not new.exists()
    lower = {**CONFIG, "name": "lower", "stages": [{"exact_dedup": {"lowercase": True}}]}
    assert cli(tmp, new, [b], "--dedup-against", str(out["A"]), config=lower) == EXIT_USAGE
    assert "exact_dedup.lowercase is False there, True here" in capsys.readouterr().err
    # an index whose files went missing
    copy = tmp / "copy"
    os.makedirs(copy / "index")
    (copy / "index" / "_manifest.json").write_text((out["A"] / "index" / "_manifest.json").read_text())
    assert cli(tmp, new, [b], "--dedup-against", str(copy)) == EXIT_USAGE
    assert "file(s) its manifest lists are missing" in capsys.readouterr().err
    # a run without minhash_dedup has no band keys: fine for exact/URL, refused for MinHash
    exact_only = {**CONFIG, "name": "exact-only", "stages": ["exact_dedup"]}
    e = tmp / "exact-only"
    assert cli(tmp, e, [str(tmp / "a.parquet")], config=exact_only) == EXIT_OK
    assert cli(tmp, new, [b], "--dedup-against", str(e)) == EXIT_USAGE
    assert "the earlier run had no minhash_dedup" in capsys.readouterr().err
    assert cli(tmp, new, [b], "--dedup-against", str(e), config=exact_only) == EXIT_OK
    assert rejects(new)["b_exact"][2:] == (str(e), "a1")


def test_a_failed_run_leaves_no_index_to_deduplicate_against(runs, capsys):
    tmp, out = runs
    broken = tmp / "broken"
    broken_shard = tmp / "A-copy"
    # an earlier run whose documents shard is damaged after it finished: the plan passes, the
    # job fails when it fetches a candidate's text for verification
    import shutil
    shutil.copytree(out["A"], broken_shard)
    for f in (broken_shard / "documents").iterdir():
        f.write_bytes(b"not parquet")
    assert cli(tmp, broken, [str(tmp / "b.parquet")], "--dedup-against", str(broken_shard)) == EXIT_FAILED
    assert "the pipeline failed" in capsys.readouterr().err
    assert not (broken / "index" / "_manifest.json").exists()
    assert cli(tmp, tmp / "after", [str(tmp / "c.parquet")], "--dedup-against", str(broken)) == EXIT_USAGE
    assert "holds no finished run's dedup index" in capsys.readouterr().err


def test_resume_with_dedup_against_ends_as_an_uninterrupted_run(runs):
    tmp, out = runs
    resumed = tmp / "resumed"
    args = ["--dedup-against", str(out["A"])]
    assert cli(tmp, resumed, [str(tmp / "b.parquet")], *args, "--keep-work") == EXIT_OK
    for name in ("stats.json", "report.html"):  # as if killed while writing its outputs
        (resumed / name).unlink()
    for sub in ("documents", "index"):
        for f in (resumed / sub).iterdir():
            f.unlink()
    assert cli(tmp, resumed, [str(tmp / "b.parquet")], *args, "--resume") == EXIT_OK
    assert kept(resumed) == kept(out["B"])
    assert rejects(resumed) == rejects(out["B"])
    assert stats(resumed)["resume"]["files_resumed"] == 1
    assert sorted(r["id"] for r in pq.read_table(resumed / "index").to_pylist()) == sorted(kept(out["B"]))
    assert (resumed / "index" / "_manifest.json").exists()


def test_without_verification_earlier_documents_are_still_named(runs):
    """verify: false reads only the ids of the earlier candidates (no text); b_chain2 is then
    judged by LSH alone, and the survivor rule may differ from the earlier run's."""
    tmp, out = runs
    unverified = {**CONFIG, "name": "unverified", "stages": [
        {"exact_dedup": {"survivor": "latest"}}, {"minhash_dedup": {"verify": False}}]}
    new = tmp / "unverified"
    assert cli(tmp, new, [str(tmp / "b.parquet")], "--dedup-against", str(out["A"]), config=unverified) == EXIT_OK
    got = rejects(new)
    a = str(out["A"])
    assert got["b_exact"] == ("exact_dedup", "exact_dedup.duplicate", a, "a1")
    assert got["b_near"] == ("minhash_dedup", "minhash_dedup.duplicate", a, "a3")
    assert got["b_chain1"][2:] == got["b_chain2"][2:] == (a, "a4")
    assert "b_u1" in kept(new) and "b_url" in kept(new)  # no url_dedup in this config


def test_the_multi_process_runner_gives_the_same_result(runs):
    tmp, out = runs
    multi = tmp / "multi"
    assert cli(tmp, multi, [str(tmp / "b.parquet")], "--dedup-against", str(out["A"]),
               "--direct_running_mode=multi_processing", "--direct_num_workers=2") == EXIT_OK
    assert kept(multi) == kept(out["B"]) and rejects(multi) == rejects(out["B"])
    assert stats(multi)["dedup_against"] == stats(out["B"])["dedup_against"]


def test_merged_stats_add_each_earlier_runs_removals(runs):
    from webrefine.pipeline.report.page import render_report
    from webrefine.pipeline.stats.merge import merge_stats

    _, out = runs
    b, c = stats(out["B"]), stats(out["C"])
    merged = merge_stats([b, c], ["B", "C"])
    by_id = {e["run_id"]: e for e in merged["dedup_against"]}
    a_id, b_id = c["dedup_against"][0]["run_id"], c["dedup_against"][1]["run_id"]
    assert by_id[a_id]["removed"] == {"exact_dedup": 3, "minhash_dedup": 3, "url_dedup": 1}  # B's 6 + C's 1
    assert by_id[a_id]["removed_total"] == 7 and by_id[b_id]["removed_total"] == 2
    html = render_report(merged)
    assert f'data-run="{a_id}"' in html and f'data-run="{b_id}"' in html
