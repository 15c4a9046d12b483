"""The report's logic without a browser: the rule table against the filters, what-if sums,
overlaps, exact merging of shards' stats, the terminal summary, the CLI and HTML safety."""
from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from webrefine.pipeline.report import whatif
from webrefine.pipeline.cli import main
from webrefine.filters.stage import Rule
from webrefine.pipeline.config import STAGES as STAGE_TABLE
from webrefine.pipeline.config import stage_class
from webrefine.pipeline.report.page import render_report
from webrefine.pipeline.report.summary import summary_table
from webrefine.pipeline.report.view import stage_rows
from webrefine.pipeline.stats.merge import merge_stats
from webrefine.pipeline.report.svg import Removal
from webrefine.pipeline.stats.build import build_stats
from webrefine.pipeline.stats.tally import Tally

CLEAN = ("The old harbour town sits at the mouth of a wide river, and its people have fished these waters "
         "for many centuries.\nEvery morning the boats leave before dawn and return with the tide, which is "
         "something visitors like to watch from the stone pier.\nThe market that follows is loud and busy, "
         "with traders calling out prices to anyone who will stop and listen to them.\nIn the afternoon the "
         "streets grow quiet again, and the cafes fill with families that have come to rest in the shade.\n"
         "Local historians say that the town was founded by merchants who wanted a safe place to trade wool "
         "and salt with the cities further up the coast.")


def _baseline(stage, cls):
    inst = cls()
    if stage == "url_filter":
        return inst.signals("https://example.com/articles/harbour-town")
    if stage in ("line_corrections", "c4_quality"):
        return inst.rewrite(CLEAN)[1]
    return inst.signals(CLEAN)


# Every stage of the stage table that decides by its declared rules.
FILTERS = tuple(name for name in STAGE_TABLE if stage_class(name).decides_by_rules)


@pytest.mark.parametrize("stage", STAGE_TABLE)
def test_the_report_reads_each_stages_own_rules(stage):
    cls = stage_class(stage)
    assert whatif.rules_for(stage) == cls.rules
    assert whatif.counts_failures(stage) == cls.decides_by_rules
    if cls.decides_by_rules:
        assert {r.reason for r in whatif.rules_for(stage)} == set(cls.reasons)
        for rule in whatif.rules_for(stage):
            assert rule.signal in _baseline(stage, cls), rule


@pytest.mark.parametrize("rule", [r for n in FILTERS for r in stage_class(n).rules], ids=lambda r: r.key)
def test_rule_direction_and_threshold_match_the_filter(rule):
    """Just below, at and just above the threshold, the table and ``failing()`` agree."""
    cls = stage_class(rule.stage)
    inst = cls(**({rule.enabled_by: True} if rule.enabled_by else {}))
    params = dataclasses.asdict(inst)
    base = _baseline(rule.stage, cls)
    assert not inst.failing(base), "the clean text must pass every rule"
    t = whatif.threshold(rule, params)
    assert rule.field is None or t == getattr(inst, rule.field)
    delta = 1 if rule.field is None or isinstance(getattr(inst, rule.field), int) else 1e-6
    for v in (t - delta, t, t + delta):
        got = rule.reason in inst.failing({**base, rule.signal: v})
        assert got == whatif.fails(rule, v, t, params), (rule.key, v)
    if rule.zero_exempt_by:  # FineWeb: with the flag, a document with no punctuated line passes
        inst = cls(**{rule.zero_exempt_by: True})
        assert rule.reason not in inst.failing({**base, rule.signal: 0.0})
        assert not whatif.fails(rule, 0.0, t, dataclasses.asdict(inst))


def test_switched_rules_follow_their_flags():
    q = stage_class("gopher_quality")
    for combined in (False, True):
        params = dataclasses.asdict(q(combined_symbol_ratio=combined))
        on = {r.reason for r in whatif.rules_for("gopher_quality") if whatif.enabled(r, params)}
        assert ("gopher_quality.symbol_ratio" in on) == combined
        assert ("gopher_quality.hash_ratio" in on) == (not combined)


def test_language_low_score_rule_matches_the_filter():
    lang = stage_class("language")()
    rule = next(r for r in whatif.rules_for("language"))
    assert rule.reason in lang.reasons and rule.field == "min_score"

    class Model:
        score = 0.0

        def predict(self, text, k=1):
            return ["__label__en"], [Model.score]

    lang._set("_model", Model())
    from webrefine.filters.document import Document

    t = lang.min_score
    for v in (t - 1e-6, t, t + 1e-6):
        Model.score = v
        verdict = lang(Document(id="1", url="u", text="some words"))
        assert (verdict.reason == "language.low_score") == whatif.fails(rule, v, t)


def test_thresholds_come_from_stats_json_alone():
    """Not from the installed code: a stats.json renders with the thresholds it ran with."""
    stats = {"config": {"stages": [{"gopher_quality": {"min_words": 80}}, "gopher_repetition"]},
             "histograms": {"gopher_quality.word_count": {"10.0": 1, "100.0": 2}}}
    params = whatif.stage_params(stats, "gopher_quality")
    assert params == {"min_words": 80} and whatif.stage_params(stats, "gopher_repetition") == {}
    low, high = whatif.rules_for("gopher_quality")[:2]
    assert whatif.curve(stats, low, params)["threshold"] == 80.0
    assert whatif.curve(stats, high, params) is None, "no max_words in this stats.json: no curve"


def test_whatif_sums_documents_and_characters_per_direction():
    stats = {"histograms": {"s.x": {"0.0": 4, "0.1": 3, "0.2": 2, "0.5": 1},
                            "s.x#chars": {"0.0": 400, "0.1": 300, "0.2": 200, "0.5": 100}}}
    expect = {"max": (3, 300), "max_ge": (6, 600), "min": (4, 400), "min_le": (7, 700)}
    for direction, (docs, chars) in expect.items():
        rule = Rule("r", "x", direction, "f", stage="s")
        w = whatif.curve(stats, rule, {"f": 0.1})
        assert (w["removed_docs"], w["removed_chars"]) == (docs, chars), direction
        assert w["total_docs"] == 10 and w["total_chars"] == 1000


def test_fast_removal_equals_the_plain_sum():
    rng = random.Random(5)
    values = sorted({round(rng.random() * 3, 2) for _ in range(200)} | {0.0})
    counts = [rng.randint(1, 9) for _ in values]
    for direction in whatif.DIRECTIONS:
        for exempt in (False, True):
            rule = Rule("r", "x", direction, "f", zero_exempt_by="z" if exempt else None, stage="s")
            fast = Removal(values, counts, direction, exempt)
            for t in [rng.random() * 3.2 - 0.1 for _ in range(50)] + values[:5]:
                assert fast(t) == whatif.removed(values, counts, rule, t, {"z": exempt})


def test_overlaps_count_owner_only_and_pairs():
    stats = {"counters": {"g.fails.g.a": 5, "g.fails.g.a+g.b": 3, "g.fails.g.b": 2, "g.fails.g.b+g.c": 1,
                          "other.fails.x": 9}}
    ov = whatif.overlaps(stats, "g")
    assert ov["any"] == {"g.a": 8, "g.b": 6, "g.c": 1}
    assert ov["only"] == {"g.a": 5, "g.b": 2, "g.c": 0}
    assert ov["pair"]["g.a"]["g.b"] == ov["pair"]["g.b"]["g.a"] == 3 and ov["pair"]["g.a"]["g.c"] == 0
    assert ov["multi"] == 4
    assert ov["combos"][1] == {"rules": ["g.a", "g.b"], "owner": "g.a", "docs": 3}


# --- merging ---------------------------------------------------------------------------

STAGES = ("read", "language", "gopher_quality", "minhash_dedup")


def _feed(tally: Tally, i: int, rng: random.Random) -> None:
    doc = f"<urn:uuid:{i:06d}>"
    tally.count("input.records", 2)
    tally.count("input.responses")
    tally.count("stage.read.in")
    if i % 17 == 0:
        tally.count("stage.read.dropped.read.not_html")
        tally.sample("dropped.read.not_html", doc, {"id": doc, "url": f"https://x/{i}", "text": "", "signals": {}}, k=4)
        return
    if i % 31 == 0:
        tally.count("errors.http_unparseable")
        tally.sample("errors.http_unparseable", f"file.warc.gz@{i}", {"file": "file.warc.gz"}, k=3)
        return
    tally.count("stage.read.out")
    words = rng.choice([10, 40, 60, 120, 999, 12345])
    for name in ("language", "gopher_quality"):
        tally.count(f"stage.{name}.in")
        tally.count(f"stage.{name}.chars_in", words * 6)
        tally.count(f"stage.{name}.tokens_in", words + 3)
    tally.observe("gopher_quality.word_count", words)
    tally.observe("gopher_quality.word_count#chars", words, words * 6)
    tally.count("stage.language.out")
    tally.count("stage.language.chars_out", words * 6)
    tally.count("stage.language.tokens_out", words + 3)
    if words < 50:
        tally.count("stage.gopher_quality.dropped.gopher_quality.word_count_low")
        tally.count("gopher_quality.fails.gopher_quality.word_count_low")
        tally.sample("dropped.gopher_quality.word_count_low", doc, {"id": doc, "signals": {"word_count": words}}, k=5)
        return
    tally.count("stage.gopher_quality.out")
    tally.count("stage.gopher_quality.chars_out", words * 6)
    size = rng.choice([1, 1, 1, 2, 3, 9])
    tally.count("stage.minhash_dedup.in")
    tally.count("stage.minhash_dedup.out")
    if size == 9:  # a key only some shards have (as chars_cut of a stage that cuts spans)
        tally.count("stage.minhash_dedup.chars_cut", words)
    tally.observe("minhash_dedup.cluster_size", size)
    tally.top("minhash_dedup.largest_clusters", doc, size, {"size": size, "url": f"https://x/{i}", "id": doc}, k=3)
    tally.sample("kept", doc, {"id": doc, "signals": {}}, k=6)
    tally.count("output.documents")
    tally.count("output.tokens", words + 3)


def _stats(tally: Tally, started: str, finished: str) -> dict:
    header = {"config_name": "t", "config_hash": "h", "config": {"stages": []}, "versions": {"webrefine": "1"},
              "input_files": [started], "input_files_total": 1, "started": started, "finished": finished}
    return build_stats(tally, STAGES, header, document_input=False)


DATA_KEYS = ("input", "stages", "output", "errors", "file_errors", "counters", "histograms", "top",
             "samples", "error_samples", "sample_keys", "top_keys")


@pytest.fixture(scope="module")
def shards():
    rng = random.Random(7)
    whole, parts = Tally(), [Tally() for _ in range(3)]
    for i in range(600):
        state = rng.getstate()
        _feed(whole, i, rng)
        rng.setstate(state)
        _feed(parts[i % 3], i, rng)
    stats = [_stats(p, f"2024-01-0{d + 1}T00:00:00+00:00", f"2024-01-0{d + 1}T01:00:00+00:00")
             for d, p in enumerate(parts)]
    return _stats(whole, "2024-01-01T00:00:00+00:00", "2024-01-03T01:00:00+00:00"), stats


def test_merging_shards_equals_one_run_over_all_of_them(shards):
    whole, parts = shards
    merged = merge_stats(parts, ["a", "b", "c"])
    for key in DATA_KEYS:
        assert merged[key] == whole[key], key
    assert len(merged["samples"]["kept"]) == 6 and len(merged["top"]["minhash_dedup.largest_clusters"]) == 3
    assert merged["started"] == "2024-01-01T00:00:00+00:00" and merged["finished"] == "2024-01-03T01:00:00+00:00"
    assert [m["source"] for m in merged["merged_from"]] == ["a", "b", "c"]
    assert merged["input_files_total"] == 3 and "merge_warnings" not in merged


def test_merge_is_independent_of_order_and_grouping(shards):
    _, (a, b, c) = shards
    one = merge_stats([a, b, c])
    for other in (merge_stats([c, a, b]), merge_stats([merge_stats([a, b]), c]), merge_stats([a, merge_stats([c, b])])):
        for key in DATA_KEYS:
            assert other[key] == one[key], key


def test_merge_without_sample_keys_uses_the_document_ids(shards):
    whole, parts = shards
    old = [{k: v for k, v in p.items() if k not in ("sample_keys", "top_keys")} for p in parts]
    merged = merge_stats(old)
    # Without the recorded sizes the merge keeps the pipeline's default k (20, more than these
    # small test samples): the same documents first, in the same order.
    for section in ("samples", "top"):
        for name, items in whole[section].items():
            assert merged[section][name][: len(items)] == items, name


def test_merge_flags_runs_with_different_configs(shards):
    _, (a, b, _) = shards
    merged = merge_stats([a, {**b, "config_hash": "other"}])
    assert merged["config_hash"] == "mixed" and any("config_hash" in w for w in merged["merge_warnings"])
    merged = merge_stats([{**a, "minhash": {"seed": 1}}, {**b, "minhash": {"seed": 2}}])
    assert merged["minhash"] == {"seed": 1} and any("minhash" in w for w in merged["merge_warnings"])


def test_merge_keeps_stage_order_when_a_run_has_an_extra_stage():
    a = {"stages": [{"name": "read", "in": 2, "out": 2, "dropped": {}}, {"name": "x", "in": 2, "out": 1,
                                                                          "dropped": {"x.r": 1}}]}
    b = {"stages": [{"name": "read", "in": 3, "out": 3, "dropped": {}}, {"name": "w", "in": 3, "out": 3, "dropped": {}},
                    {"name": "x", "in": 3, "out": 3, "dropped": {}}]}
    merged = merge_stats([a, b])
    assert [s["name"] for s in merged["stages"]] == ["read", "w", "x"]
    assert merged["stages"][2]["dropped"] == {"x.r": 1} and merged["stages"][0]["in"] == 5


def test_merge_sums_dropped_chars_and_omits_them_when_a_run_has_none():
    a = {"stages": [{"name": "x", "in": 2, "out": 1, "dropped": {"x.r": 1}, "dropped_chars": {"x.r": 40}}]}
    b = {"stages": [{"name": "x", "in": 3, "out": 1, "dropped": {"x.r": 2}, "dropped_chars": {"x.r": 60}}]}
    assert merge_stats([a, b])["stages"][0]["dropped_chars"] == {"x.r": 100}
    older = {"stages": [{"name": "x", "in": 1, "out": 0, "dropped": {"x.r": 1}}]}  # stats from before
    assert "dropped_chars" not in merge_stats([a, older])["stages"][0]


# --- what users read -------------------------------------------------------------------

def test_stage_rows_and_summary_table(shards):
    whole, _ = shards
    rows = {r["name"]: r for r in stage_rows(whole)}
    gq = rows["gopher_quality"]
    low = whole["stages"][2]["dropped"]["gopher_quality.word_count_low"]
    assert gq["dropped"] == low and gq["drop_rate"] == low / gq["in"]
    assert gq["reasons"][0]["of_original"] == low / whole["input"]["responses"]
    text = summary_table(whole)
    assert re.search(rf"^gopher_quality\s+{gq['in']:,}\s+{gq['out']:,}\s+{low:,}\s", text, re.M)
    assert re.search(rf"^  gopher_quality.word_count_low\s+{low:,}\s", text, re.M)
    assert f"output: {whole['output']['documents']:,} documents" in text


def test_report_command_merges_prints_and_writes(shards, tmp_path, capsys):
    _, parts = shards
    dirs = []
    for i, p in enumerate(parts):
        d = tmp_path / f"run{i}"
        d.mkdir()
        (d / "stats.json").write_text(json.dumps(p))
        dirs.append(str(d))
    assert main(["report", *dirs, "--output", str(tmp_path / "all.html"), "--stats", str(tmp_path / "all.json")]) == 0
    out = capsys.readouterr().out
    assert "merged from 3 runs" in out and "gopher_quality.word_count_low" in out
    assert (tmp_path / "all.html").read_text().startswith("<!DOCTYPE html>")
    merged = json.loads((tmp_path / "all.json").read_text())
    assert merged["stages"] == merge_stats(parts)["stages"]
    assert main(["report", dirs[0]]) == 0 and (tmp_path / "run0" / "report.html").exists()
    assert main(["report", *dirs]) == 2  # several runs need --output
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_page_is_self_contained_and_escapes_web_content(shards):
    whole, _ = shards
    evil = {"id": "<x>", "url": "javascript:alert(1)", "text": "</pre><script>alert(1)</script>",
            "signals": {"word_count": 3.0}}
    stats = {**whole, "samples": {**whole["samples"], "dropped.gopher_quality.word_count_low": [evil]}}
    page = render_report(stats)
    assert "<script>alert(1)" not in page and 'href="javascript:' not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)" in page
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', page)
    assert "@import" not in page and "url(" not in page
    assert page.count("<script") == 2  # the data blob and the inline script


@pytest.mark.parametrize("stage", STAGE_TABLE)
def test_every_declared_rule_reaches_the_report(stage):
    """Each rule of each stage in the stage table gets a what-if card (a threshold to tune),
    a row in the fixed rules (none), or a mention as switched off, from its declaration."""
    cls = stage_class(stage)
    params = dataclasses.asdict(cls())
    stats = {"config": {"stages": [{stage: params}]}, "input": {"responses": 10}, "output": {},
             "stages": [{"name": stage, "in": 10, "out": 8, "dropped": {cls.reasons[0]: 2}}],
             "histograms": {f"{stage}.{s}": {"0.0": 5, "1.0": 5} for s in cls.signal_names}}
    page = render_report(stats)
    found = re.search(rf'<section class="stage-detail" data-stage="{stage}">(.*?)</section>', page, re.S)
    assert found or not cls.rules, "a stage with rules gets a what-if section"
    for rule in cls.rules:
        section = found.group(1)
        if not rule.enabled(params):
            off = re.search(r"Rules switched off in this config: ([^<]*)</p>", section)
            assert off and rule.key in off.group(1), rule.key
        elif rule.field is None:
            assert f'<tr data-reason="{rule.reason}">' in section, rule.key
        else:
            assert f'data-key="{rule.key}"' in section, rule.key


def test_report_refuses_to_merge_runs_of_different_configs_unless_asked(shards, tmp_path, capsys):
    _, parts = shards
    dirs = []
    for i, (part, config_hash) in enumerate(zip(parts[:2], ("aaaa", "bbbb"))):
        d = tmp_path / f"run{i}"
        d.mkdir()
        (d / "stats.json").write_text(json.dumps({**part, "config_hash": config_hash}))
        dirs.append(str(d))
    assert main(["report", *dirs, "--output", str(tmp_path / "all.html")]) == 2
    assert "used different configs" in capsys.readouterr().err and not (tmp_path / "all.html").exists()
    assert main(["report", *dirs, "--output", str(tmp_path / "all.html"), "--allow-mixed-configs"]) == 0
    assert (tmp_path / "all.html").exists()


def test_stage_times_and_resumed_files_are_a_table_not_a_json_dump(shards):
    whole, _ = shards
    stats = {**whole, "timings": {"read": {"wall_s": 1.5, "cpu_s": 0.25}, "minhash_dedup": {"runner_s": 2.75}},
             "resume": {"files_processed": 1, "files_resumed": 3}}
    html = render_report(stats)
    table = re.search(r'<details id="timings">.*?</details>', html, re.S).group(0)
    assert re.search(r"read</td><td class=n>1\.50</td><td class=n>0\.25</td>", table)
    assert re.search(r"minhash_dedup</td>.*?<td class=n>2\.75</td>", table)
    assert "3 input files done by an interrupted run, 1 processed by this one" in html
    assert '"wall_s"' not in html and "files_resumed" not in html
    assert '<details id="timings">' not in render_report({**whole, "timings": {}})
