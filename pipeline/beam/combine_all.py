"""``CombineAll``: ``beam.CombineGlobally`` without a side input.

``CombineGlobally`` gives an empty input its default value through a step that reads the
combined value as a side input (``InjectDefault``). Beam's local multi-process runner lost
main-input elements of steps waiting for a side input (README, Deduplication at scale), so no
step of a run reads one (tests/pipeline/beam/test_shards.py checks every preset's graph).
Here a neutral element (``Tally()``, 0, None) is flattened into the input instead, so the
result exists, once, for an empty input too, with no side input.
"""
from __future__ import annotations

from typing import Any

import apache_beam as beam


class CombineAll(beam.PTransform):
    """The combined value of every element and ``neutral`` (an element that changes nothing)."""

    def __init__(self, fn: Any, neutral: Any) -> None:
        super().__init__()
        self.fn, self.neutral = fn, neutral

    def expand(self, pcoll):
        neutral = pcoll.pipeline | "Neutral" >> beam.Create([self.neutral])
        return ((pcoll, neutral) | "WithNeutral" >> beam.Flatten()
                | "Combine" >> beam.CombineGlobally(self.fn).without_defaults())
