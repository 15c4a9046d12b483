"""Mergeable run statistics: counters, bounded histograms and deterministic samples.

Every DoFn keeps one ``Tally`` per bundle and emits it when the bundle ends; the graph
merges them with a CombineGlobally into stats.json. Counting as pipeline data (rather
than only Beam Metrics) makes the numbers right on every runner, and a retried bundle's
tally is discarded with the rest of its output. Plain Python: no Beam import.

Sizes stay bounded whatever the corpus size: histogram keys are values rounded to three
significant digits, and samples keep the ``k`` items with the smallest hash of their key
(a bottom-k sample: deterministic, order-independent and exactly mergeable).
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

# Key layout (also the Beam Metrics names):
#   input.files / input.records / input.responses
#   stage.<name>.in / stage.<name>.out / stage.<name>.dropped.<reason>
#   errors.<reason>             record-level errors (the record is lost, counted once)
#   file_errors.<reason>        file-level errors (a file or part of it is unreadable)
#   <name>.<anything>           stage-specific extras (extract.seconds, minhash.candidate_pairs)
SAMPLE_K = 20


def round_sig(value: float, digits: int = 3) -> float:
    """Round to ``digits`` significant digits: the histogram bin of ``value``."""
    if value == 0 or not math.isfinite(value):
        return 0.0 if not math.isfinite(value) else value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def stable_hash(key: str) -> int:
    """A hash that does not depend on PYTHONHASHSEED or the process."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    # name -> Counter{rounded value: n}
    hists: dict[str, Counter] = field(default_factory=dict)
    # name -> {key: (hash, item)}; at most SAMPLE_K entries, the smallest hashes
    samples: dict[str, dict[str, tuple[int, Any]]] = field(default_factory=dict)
    # name -> {key: (score, item)}; at most k entries, the largest scores (e.g. biggest clusters)
    tops: dict[str, dict[str, tuple[float, Any]]] = field(default_factory=dict)
    # name -> k of each sample and top list, so merging keeps the size it was made with
    sizes: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def observe(self, name: str, value: float, n: int = 1) -> None:
        hist = self.hists.get(name)
        if hist is None:
            hist = self.hists[name] = Counter()
        hist[round_sig(float(value))] += n

    def sample(self, name: str, key: str, item: Any, k: int = SAMPLE_K) -> None:
        """Offer ``item`` to the bottom-k sample ``name``; ``key`` decides membership."""
        bucket = self.samples.get(name)
        if bucket is None:
            bucket = self.samples[name] = {}
            self.sizes[name] = k
        if key in bucket:
            return
        h = stable_hash(key)
        if len(bucket) < k:
            bucket[key] = (h, item)
            return
        worst = max(bucket, key=lambda kk: (bucket[kk][0], kk))
        if (h, key) < (bucket[worst][0], worst):
            del bucket[worst]
            bucket[key] = (h, item)

    def top(self, name: str, key: str, score: float, item: Any, k: int = SAMPLE_K) -> None:
        """Offer ``item`` to the top-k list ``name`` (largest ``score``; ties: smallest key)."""
        bucket = self.tops.get(name)
        if bucket is None:
            bucket = self.tops[name] = {}
            self.sizes["top:" + name] = k
        if key in bucket:
            if score > bucket[key][0]:
                bucket[key] = (score, item)
            return
        if len(bucket) < k:
            bucket[key] = (score, item)
            return
        worst = min(bucket, key=lambda kk: (bucket[kk][0], _neg(kk)))
        if (score, _neg(key)) > (bucket[worst][0], _neg(worst)):
            del bucket[worst]
            bucket[key] = (score, item)

    def top_items(self, name: str) -> list[Any]:
        bucket = self.tops.get(name, {})
        return [bucket[k][1] for k in sorted(bucket, key=lambda kk: (-bucket[kk][0], kk))]

    def merge(self, other: "Tally") -> "Tally":
        self.counts.update(other.counts)
        for name, hist in other.hists.items():
            self.hists.setdefault(name, Counter()).update(hist)
        for name, bucket in other.samples.items():
            k = other.sizes.get(name, SAMPLE_K)
            for key, (_, item) in bucket.items():
                self.sample(name, key, item, k)
        for name, bucket in other.tops.items():
            k = other.sizes.get("top:" + name, SAMPLE_K)
            for key, (score, item) in bucket.items():
                self.top(name, key, score, item, k)
        return self

    def __bool__(self) -> bool:
        return bool(self.counts or self.hists or self.samples or self.tops)

    @classmethod
    def merged(cls, tallies: Iterable["Tally"]) -> "Tally":
        out = cls()
        for t in tallies:
            out.merge(t)
        return out

    def sample_items(self, name: str) -> list[Any]:
        """Sample items in a deterministic order (by hash, then key)."""
        bucket = self.samples.get(name, {})
        return [bucket[k][1] for k in sorted(bucket, key=lambda kk: (bucket[kk][0], kk))]


def _neg(key: str) -> tuple[int, ...]:
    """Order keys descending inside an ascending comparison (ties keep the smallest key)."""
    return tuple(-ord(c) for c in key) + (1,)
