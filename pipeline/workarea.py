"""The work area: what the per-document phase committed per input file, so an interrupted run
resumes where it stopped (``webrefine run --resume``). Plain Python: names, the JSON forms of
what is saved, and the checks that a resume continues the same run; the Beam side that
writes and reads it is ``pipeline/beam/per_file.py``.

Layout, under ``OUT/_work/`` (an underscore: Spark, Hadoop and similar readers skip it):

  run.json                 the run it belongs to: inputs (local sizes too), input format,
                           config hash, webrefine version (the config itself: OUT/config.yaml)
  <key>.jsonl.gz           one input file's results, one JSON object a line:
                           {"doc": Document} kept by every per-document stage,
                           {"rejection": Rejection} (sampled per reason, or all with -1),
                           then {"tally": Tally}: that file's counts, histograms and samples;
                           a new gzip member every 1,000 documents, so the dedup stages read
                           any chunk of it alone (pipeline/beam/per_file.py ResultsWriter)
  <key>.done               the completion marker, written last: {"input", "results", counts,
                           "members": the byte offset of each chunk's member}
  bands-<stage>-<hex>.bin  minhash_dedup's packed band keys, a file per batch of a worker
  <name>.<hex>.tmp         a write in progress (renamed when complete; ignored otherwise)

``<key>`` is a hash of the input path plus its file name. Both files are written under a
temporary name and renamed, the marker after the results: a marker always names complete
results, on a local disk as on an object store, and a retried bundle writes the same files
again. JSON keeps every float exactly (Python writes the shortest repr that reads back).
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from typing import Any, Mapping

from webrefine.filters.document import Document, Rejection
from webrefine.pipeline.stats.tally import Tally

WORK_DIR = "_work"
MANIFEST = "run.json"
RESULTS_SUFFIX = ".jsonl.gz"
MARKER_SUFFIX = ".done"


def file_key(path: str) -> str:
    """A file name for one input's results: unique per path, readable by its base name."""
    digest = hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", path.rstrip("/").rsplit("/", 1)[-1])[:80]
    return f"{digest}-{base}"


def document_json(doc: Document) -> dict[str, Any]:
    data = dataclasses.asdict(doc)
    data["signals"] = dict(doc.signals)
    return data


def document_from_json(data: Mapping[str, Any]) -> Document:
    return Document(**data)


def rejection_json(rej: Rejection) -> dict[str, Any]:
    return {"stage": rej.stage, "reason": rej.reason, "doc": document_json(rej.doc), "signals": dict(rej.signals)}


def rejection_from_json(data: Mapping[str, Any]) -> Rejection:
    return Rejection(data["stage"], data["reason"], document_from_json(data["doc"]), dict(data["signals"]))


def tally_json(tally: Tally) -> dict[str, Any]:
    """Every field of a Tally (tests/pipeline/test_workarea.py fails when one is added)."""
    return {
        "counts": dict(tally.counts),
        "hists": {name: [[value, n] for value, n in hist.items()] for name, hist in tally.hists.items()},
        "samples": {name: [[key, h, item] for key, (h, item) in bucket.items()]
                    for name, bucket in tally.samples.items()},
        "tops": {name: [[key, score, item] for key, (score, item) in bucket.items()]
                 for name, bucket in tally.tops.items()},
        "sizes": dict(tally.sizes),
    }


def tally_from_json(data: Mapping[str, Any]) -> Tally:
    return Tally(
        counts=Counter(data["counts"]),
        hists={name: Counter({value: n for value, n in pairs}) for name, pairs in data["hists"].items()},
        samples={name: {key: (h, item) for key, h, item in rows} for name, rows in data["samples"].items()},
        tops={name: {key: (score, item) for key, score, item in rows} for name, rows in data["tops"].items()},
        sizes=dict(data["sizes"]),
    )


def manifest(inputs: tuple[str, ...], sizes: Mapping[str, int], input_format: str, config_hash: str,
             version: str) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the work area."""
    return {"inputs": [{"path": p, "bytes": sizes.get(p)} for p in inputs], "input_format": input_format,
            "config_hash": config_hash, "webrefine": version}


def manifest_mismatch(saved: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """Why ``current`` cannot resume the run of ``saved``; None when it can."""
    if saved.get("webrefine") != current["webrefine"]:
        return f"it was written by webrefine {saved.get('webrefine')}, this is {current['webrefine']}"
    if saved.get("input_format") != current["input_format"]:
        return f"its input was {saved.get('input_format')}, this run's is {current['input_format']}"
    before = {i["path"]: i.get("bytes") for i in saved.get("inputs", [])}
    now = {i["path"]: i.get("bytes") for i in current["inputs"]}
    if before.keys() != now.keys():
        gone, new = sorted(before.keys() - now.keys()), sorted(now.keys() - before.keys())
        what = (f"{len(new)} input file(s) not in it (first: {new[0]})" if new
                else f"{len(gone)} of its input file(s) missing (first: {gone[0]})")
        return f"the input list differs: {what}"
    changed = sorted(p for p in now if before[p] != now[p])
    if changed:
        return f"input file {changed[0]} changed size ({before[changed[0]]} → {now[changed[0]]} bytes)"
    return None  # the config itself is compared with OUT/config.yaml (config_mismatch)


# What a config says about itself, not about the documents: a resume may change them.
NOT_COMPARED = ("name", "description")


def config_mismatch(saved: Any, current: Any, where: str = "") -> str | None:
    """The first place where two resolved configs (config.yaml) differ, or None; the
    config's name and description are not compared."""
    if not where and isinstance(saved, Mapping) and isinstance(current, Mapping):
        saved = {k: v for k, v in saved.items() if k not in NOT_COMPARED}
        current = {k: v for k, v in current.items() if k not in NOT_COMPARED}
    if isinstance(saved, Mapping) and isinstance(current, Mapping):
        for key in list(current) + [k for k in saved if k not in current]:
            if key not in saved or key not in current:
                return f"{where}{key}: {'not in the earlier config' if key not in saved else 'not in this config'}"
            diff = config_mismatch(saved[key], current[key], f"{where}{key}.")
            if diff:
                return diff
        return None
    if isinstance(saved, list) and isinstance(current, list):
        if len(saved) != len(current):
            return f"{where.rstrip('.')}: {len(saved)} entries before, {len(current)} now"
        for i, (a, b) in enumerate(zip(saved, current)):
            diff = config_mismatch(a, b, f"{where}{i}.")
            if diff:
                return diff
        return None
    if saved != current:
        return f"{where.rstrip('.')}: {saved!r} before, {current!r} now"
    return None
