"""Merging the stats.json of several runs or shards (one per dump, one per worker pool).

Exact, like ``Tally.merge``: counts add, histograms add bin by bin (their keys are values
already rounded to three significant digits, so equal values have equal keys), samples are
re-selected bottom-k by the same ``stable_hash`` of the same key as pipeline/stats/tally.py, and
top lists top-k by score. The merge is associative and independent of input order: the
stats of shards merged equal the stats of one run over all of them (tests check it).
Plain Python: no Beam import (``load_stats`` uses Beam's FileSystems only for remote paths).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

from webrefine.pipeline.stats.tally import SAMPLE_K, Tally

_HEADER_FIRST = ("config_name", "config", "versions", "runner", "input_format", "language_model")
_SUMMED = ("input", "output", "errors", "file_errors", "counters", "timings", "resume")


def load_stats(path: str, read_text: Callable[[str], str] | None = None) -> dict[str, Any]:
    """stats.json from a run directory or a stats.json path; ``read_text`` opens remote paths
    (the command line passes Beam's FileSystems), local ones are opened directly."""
    if not path.endswith(".json"):
        path = path.rstrip("/") + "/stats.json"
    if "://" in path and read_text is not None:
        return json.loads(read_text(path))
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def merge_stats(runs: Sequence[dict[str, Any]], sources: Sequence[str] | None = None) -> dict[str, Any]:
    """One stats dict from several (same schema as stats.json, plus ``merged_from``)."""
    if not runs:
        raise ValueError("merge_stats needs at least one stats dict")
    if len(runs) == 1:
        return runs[0]
    sources = list(sources) if sources is not None else [f"run {i + 1}" for i in range(len(runs))]
    out: dict[str, Any] = {"schema_version": max(r.get("schema_version", 1) for r in runs)}
    out.update(_merge_header(runs, sources))
    for key in _SUMMED:
        out[key] = _add_maps(r.get(key, {}) for r in runs)
    out["stages"] = _merge_stages(runs)
    out["histograms"] = _merge_histograms(runs)
    samples, error_samples, sample_keys = _merge_samples(runs)
    out["error_samples"], out["samples"] = error_samples, samples
    out["top"], top_keys = _merge_tops(runs)
    out["sample_keys"], out["top_keys"] = sample_keys, top_keys
    if any(r.get("dedup_against") for r in runs):
        out["dedup_against"] = _merge_dedup_against(runs)
    for key, value in runs[0].items():  # header fields this merge does not know: the first run's
        if key not in out:
            out[key] = value
            if any(json.dumps(r.get(key), sort_keys=True) != json.dumps(value, sort_keys=True) for r in runs):
                out.setdefault("merge_warnings", []).append(f"the runs differ in {key}; the header shows the first run's")
    return out


def _merge_header(runs: Sequence[dict[str, Any]], sources: Sequence[str]) -> dict[str, Any]:
    first = runs[0]
    head: dict[str, Any] = {k: first[k] for k in _HEADER_FIRST if k in first}
    hashes = {r.get("config_hash") for r in runs}
    head["config_hash"] = first.get("config_hash") if len(hashes) == 1 else "mixed"
    files: list[str] = []
    for r in runs:
        files += r.get("input_files", [])
    head["input_files"] = list(dict.fromkeys(files))[:1000]
    head["input_files_total"] = sum(r.get("input_files_total", len(r.get("input_files", []))) for r in runs)
    started = [r["started"] for r in runs if r.get("started")]
    finished = [r["finished"] for r in runs if r.get("finished")]
    if started:
        head["started"] = min(started)  # ISO 8601 in UTC: text order is time order
    if finished:
        head["finished"] = max(finished)
    differ = [k for k in ("config_hash", "versions", "language_model", "input_format")
              if len({json.dumps(r.get(k), sort_keys=True) for r in runs}) > 1]
    if differ:
        head["merge_warnings"] = [f"the runs differ in {k}; the header shows the first run's" for k in differ]
    head["merged_from"] = [
        {"source": src, "config_hash": r.get("config_hash"), "started": r.get("started"),
         "finished": r.get("finished"), "input_files_total": r.get("input_files_total"),
         "units": r.get("input", {}).get("responses", r.get("input", {}).get("rows", 0)),
         "documents": r.get("output", {}).get("documents", 0)}
        for src, r in zip(sources, runs)
    ]
    return head


def _merge_dedup_against(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier runs (--dedup-against) of every run, one entry per run id, their removals added."""
    merged: dict[str, dict[str, Any]] = {}
    for r in runs:
        for e in r.get("dedup_against") or []:
            m = merged.setdefault(e["run_id"], {**e, "removed": {}, "removed_total": 0})
            m["removed"] = _add_maps([m["removed"], e.get("removed", {})])
            m["removed_total"] += e.get("removed_total", 0)
    return list(merged.values())


def _add_maps(maps: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum nested {key: number | {key: number}} maps; keys sorted like build_stats."""
    total: dict[str, Any] = {}
    for m in maps:
        for k, v in m.items():
            if isinstance(v, dict):
                total[k] = _add_maps([total.get(k, {}), v])
            else:
                total[k] = total.get(k, 0) + v
    return {k: total[k] for k in sorted(total)}


def _merge_stages(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    order: list[str] = []  # stages in run order; a stage only some runs have goes after its predecessor
    for r in runs:
        for i, st in enumerate(r.get("stages", [])):
            if st["name"] not in order:
                prev = r["stages"][i - 1]["name"] if i else None
                order.insert(order.index(prev) + 1 if prev in order else len(order), st["name"])
    merged = {name: {"name": name, "in": 0, "out": 0, "dropped": Counter(), "dropped_chars": Counter(),
                     "chars_in": 0, "chars_out": 0, "tokens_in": 0, "tokens_out": 0} for name in order}
    partial = set()  # stages of which some run has no dropped_chars (stats from before it existed)
    for r in runs:
        for st in r.get("stages", []):
            m = merged[st["name"]]
            for k in ("in", "out", "chars_in", "chars_out", "tokens_in", "tokens_out"):
                m[k] += st.get(k, 0)
            for k in ("chars_cut", "tokens_cut"):  # only stages that cut spans have them
                if k in st:
                    m[k] = m.get(k, 0) + st[k]
            m["dropped"].update(st.get("dropped", {}))
            if "dropped_chars" in st:
                m["dropped_chars"].update(st["dropped_chars"])
            else:
                partial.add(st["name"])
    for m in merged.values():
        for k in ("dropped", "dropped_chars"):
            m[k] = {r: m[k][r] for r in sorted(m[k])}
        if m["name"] in partial:
            del m["dropped_chars"]  # a sum over some of the runs would mislead
    return [merged[name] for name in order]


def _merge_histograms(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    hists: dict[str, Counter] = {}
    for r in runs:
        for name, hist in r.get("histograms", {}).items():
            hists.setdefault(name, Counter()).update(hist)
    return {name: {k: h[k] for k in sorted(h, key=float)} for name, h in sorted(hists.items())}


def _sample_key(item: Any) -> str:
    """Fallback key for stats written before ``sample_keys`` existed: the document id."""
    if isinstance(item, dict) and (item.get("id") or item.get("url")):
        return str(item.get("id") or item.get("url"))
    return json.dumps(item, sort_keys=True)


def _merge_samples(runs: Sequence[dict[str, Any]]):
    tally = Tally()
    for r in runs:
        meta = r.get("sample_keys", {})
        for section in ("samples", "error_samples"):
            for name, items in r.get(section, {}).items():
                info = meta.get(name)
                keys = info["keys"] if info and len(info["keys"]) == len(items) else [_sample_key(i) for i in items]
                k = info["k"] if info else SAMPLE_K
                for key, item in zip(keys, items):
                    tally.sample(name, key, item, k)
    samples, errors, keys = {}, {}, {}
    for name in sorted(tally.samples):
        bucket = tally.samples[name]
        target = errors if name.startswith(("errors.", "file_errors.")) else samples
        target[name] = tally.sample_items(name)
        keys[name] = {"k": tally.sizes[name], "keys": sorted(bucket, key=lambda kk: (bucket[kk][0], kk))}
    return samples, errors, keys


def _merge_tops(runs: Sequence[dict[str, Any]]):
    tally = Tally()
    for r in runs:
        meta = r.get("top_keys", {})
        for name, items in r.get("top", {}).items():
            info = meta.get(name)
            if info and len(info["keys"]) == len(items):
                keyed = zip(info["keys"], info["scores"], items)
            else:  # older stats: the items of our top lists carry their key and score
                keyed = ((str(i.get("id", "")), float(i.get("size", 0)), i) for i in items)
            k = info["k"] if info else SAMPLE_K
            for key, score, item in keyed:
                tally.top(name, key, score, item, k)
    tops, keys = {}, {}
    for name in sorted(tally.tops):
        bucket = tally.tops[name]
        order = sorted(bucket, key=lambda kk: (-bucket[kk][0], kk))
        tops[name] = tally.top_items(name)
        keys[name] = {"k": tally.sizes["top:" + name], "keys": order, "scores": [bucket[kk][0] for kk in order]}
    return tops, keys
