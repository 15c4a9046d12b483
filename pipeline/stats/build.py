"""stats.json: the run's accounting, built from the merged Tally (plain Python).

Contract (other tools read it; only ever extended):
  {"input": {"files", "records", "responses"} (document input: "rows" instead of records
   and responses), "stages": [{"name", "in", "out", "dropped": {reason: n}, "chars_in",
   "chars_out", "tokens_in", "tokens_out", ["chars_cut", "tokens_cut"]}] in run order,
   "output": {"documents", "chars", "tokens"}, "errors": {reason: n}, ...}; with --dedup-against,
  "dedup_against": [{"path", "run_id", "documents", "removed": {stage: n}, "removed_total"}]
Invariant: responses (or rows) == output.documents + all stage drops + all errors.
"timings" ({stage: {"wall_s", "cpu_s"}}, read and the per-document stages, summed over
workers; the driver adds {"runner_s"} for dedup stages where the runner reports step times,
pipeline/beam/run.py) and "resume" ({"files_processed", "files_resumed"}) depend on the machine and on
how the run went, not on the data: comparisons of runs leave them out.
File-level problems (an unreadable file, a corrupt gzip stretch) are in "file_errors":
they are not records, so they stay out of the invariant; the records inside a corrupt
stretch cannot be counted by anyone.
"""
from __future__ import annotations

from typing import Any, Iterable

from webrefine.dedup.earlier import STAGES as EARLIER_STAGES
from webrefine.pipeline.stats.tally import SAMPLE_K, Tally

SCHEMA_VERSION = 1


def _sub(counts: dict[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}


def build_stats(tally: Tally, stage_names: Iterable[str], header: dict[str, Any],
                document_input: bool) -> dict[str, Any]:
    counts = dict(tally.counts)
    stage_names = tuple(stage_names)
    stages = []
    for name in stage_names:
        prefix = f"stage.{name}."
        stages.append({
            "name": name,
            "in": counts.get(prefix + "in", 0),
            "out": counts.get(prefix + "out", 0),
            "dropped": _sub(counts, prefix + "dropped."),
            # characters of the dropped documents per reason: HTML up to extraction, text after
            # (none for read, which drops records before anything is decoded)
            "dropped_chars": _sub(counts, prefix + "dropped_chars."),
            "chars_in": counts.get(prefix + "chars_in", 0),
            "chars_out": counts.get(prefix + "chars_out", 0),
            # tokens of text (output.tokenizer; none for HTML) entering and leaving the stage
            "tokens_in": counts.get(prefix + "tokens_in", 0),
            "tokens_out": counts.get(prefix + "tokens_out", 0),
            # stages that cut spans out of kept documents (exact_substring_dedup): what they cut
            **{key: counts[prefix + key] for key in ("chars_cut", "tokens_cut") if prefix + key in counts},
        })
    if document_input:
        inputs = {"files": counts.get("input.files", 0), "rows": counts.get("input.rows", 0)}
    else:
        inputs = {k: counts.get(f"input.{k}", 0) for k in ("files", "records", "responses")}
    known = ("input.", "stage.", "output.", "errors.", "file_errors.", "timing.", "resume.")
    return {
        "schema_version": SCHEMA_VERSION,
        **header,
        "input": inputs,
        "stages": stages,
        "output": {"documents": counts.get("output.documents", 0), "chars": counts.get("output.chars", 0),
                   "tokens": counts.get("output.tokens", 0)},
        "errors": _sub(counts, "errors."),
        "file_errors": _sub(counts, "file_errors."),
        "error_samples": {
            name: tally.sample_items(name)
            for name in sorted(tally.samples) if name.startswith(("errors.", "file_errors."))
        },
        "counters": {k: v for k, v in sorted(counts.items()) if not k.startswith(known)},
        "timings": _timings(counts, stage_names),
        "resume": {"files_processed": counts.get("resume.files_processed", 0),
                   "files_resumed": counts.get("resume.files_resumed", 0)},
        "histograms": {
            name: {repr(value): n for value, n in sorted(hist.items())}
            for name, hist in sorted(tally.hists.items())
        },
        "top": {name: tally.top_items(name) for name in sorted(tally.tops)},
        # --dedup-against: each earlier run and how many of this run's documents each stage
        # dropped for matching one of its kept documents (from the <stage>.matched_earlier.<run_id> counters)
        **({"dedup_against": _dedup_against(header["dedup_against"], counts, stage_names)}
           if header.get("dedup_against") else {}),
        # Deterministic samples (bottom-k by id hash): "kept" and "dropped.<reason>".
        "samples": {
            name: tally.sample_items(name)
            for name in sorted(tally.samples) if not name.startswith(("errors.", "file_errors."))
        },
        # The keys and sizes behind "samples", "error_samples" and "top", so the stats of
        # several runs or shards merge exactly (pipeline/stats/merge.py).
        "sample_keys": {name: _bucket_keys(tally.samples[name], tally.sizes.get(name, SAMPLE_K))
                        for name in sorted(tally.samples)},
        "top_keys": {name: _top_keys(tally.tops[name], tally.sizes.get("top:" + name, SAMPLE_K))
                     for name in sorted(tally.tops)},
    }


def _dedup_against(runs: list[dict[str, Any]], counts: dict[str, Any], stage_names: Iterable[str]) -> list[dict]:
    out = []
    for run in runs:
        removed = {name: counts.get(f"{name}.matched_earlier.{run['run_id']}", 0) for name in stage_names
                   if name in EARLIER_STAGES}
        out.append({**run, "removed": removed, "removed_total": sum(removed.values())})
    return out


def _timings(counts: dict[str, Any], stage_names: Iterable[str]) -> dict[str, dict[str, float]]:
    """Seconds per stage, in run order (pipeline/document_phase.py says what is measured)."""
    out = {}
    for name in dict.fromkeys(("read", *stage_names)):  # text input: reading has a time, no stage
        wall, cpu = counts.get(f"timing.{name}.wall_s"), counts.get(f"timing.{name}.cpu_s")
        if wall is not None:
            out[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu or 0.0, 3)}
    return out


def _bucket_keys(bucket: dict, k: int) -> dict[str, Any]:
    return {"k": k, "keys": sorted(bucket, key=lambda kk: (bucket[kk][0], kk))}


def _top_keys(bucket: dict, k: int) -> dict[str, Any]:
    order = sorted(bucket, key=lambda kk: (-bucket[kk][0], kk))
    return {"k": k, "keys": order, "scores": [bucket[kk][0] for kk in order]}


def lost_messages(stats: dict[str, Any]) -> list[str]:
    """What a stage's steps sent one another but did not all receive: each ``X_sent`` counter
    against its ``X_received`` (minhash_dedup's marks, shingle requests, hub records and
    decisions: pipeline/beam/dedup_transforms.py). A runner that loses part of a step's input
    can keep a duplicate while every record is still accounted for; this catches it."""
    counters = stats.get("counters", {})
    lost = []
    for key in sorted(counters):
        if key.endswith("_sent"):
            received = counters.get(key[: -len("_sent")] + "_received", 0)
            if received != counters[key]:
                lost.append(f"{key[: -len('_sent')]}: {counters[key]:,} sent, {received:,} received")
    return lost


def check_invariant(stats: dict[str, Any]) -> tuple[int, int]:
    """(units in, units accounted for): equal when no record was lost."""
    units = stats["input"].get("responses", stats["input"].get("rows", 0))
    accounted = stats["output"]["documents"] + sum(stats["errors"].values())
    accounted += sum(sum(s["dropped"].values()) for s in stats["stages"])
    return units, accounted
