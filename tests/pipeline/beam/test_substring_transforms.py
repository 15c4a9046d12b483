"""Beam wiring of exact_substring_dedup: the plain-Python result (dedup/substring.py), part by
part, whatever the input order, bundling, worker count or part count."""
from __future__ import annotations

import dataclasses
import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline  # the module: a TestPipeline name here is a class pytest tries to collect
from apache_beam.testing.util import assert_that, equal_to

from webrefine.dedup.substring import ExactSubstringDedup, dedup_part
from webrefine.filters import tokenizer
from webrefine.filters.document import Document
from webrefine.pipeline.beam.dedup_transforms import dedup_transform
from webrefine.pipeline.stats.tally import Tally

NAME = "exact_substring_dedup"
BOILERPLATES = [
    "This website uses cookies to improve your experience. By continuing to browse the site you agree to our "
    "use of cookies, our privacy policy and our terms of service, which you can read at any time.",
    "All rights reserved. No part of this publication may be reproduced, distributed, or transmitted in any "
    "form or by any means without the prior written permission of the publisher, except for brief quotations.",
    "Подпишитесь на нашу рассылку, чтобы первыми узнавать о новых статьях, скидках и событиях: мы пишем не "
    "чаще одного раза в неделю и никогда не передаём ваш адрес третьим лицам. 😀 Спасибо, что читаете нас!",
]


def corpus(n: int = 36, seed: int = 0) -> list[Document]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(400)]
    docs = []
    for i in range(n):
        body = " ".join(rng.choice(vocab) for _ in range(rng.randrange(30, 120)))
        pieces = [body]
        for text in BOILERPLATES:
            if rng.random() < 0.5:
                pieces.insert(rng.randrange(len(pieces) + 1), text)
        date = f"2024-0{1 + i % 9}-1{i % 10}T00:00:00Z" if i % 4 else ""
        docs.append(Document(id=f"<urn:uuid:{i:04d}>", url=f"https://example.com/{i}", text="\n".join(pieces),
                             date=date))
    return docs


def reference(stage: ExactSubstringDedup, docs: list[Document]):
    """The plain-Python result, part by part (``stage.parts`` a number)."""
    parts: dict[int, list[Document]] = {}
    for d in docs:
        parts.setdefault(stage.part(d.id), []).append(d)
    kept, rejected, counts = [], [], {f"stage.{NAME}.in": len(docs), f"stage.{NAME}.out": 0,
                                      f"stage.{NAME}.chars_cut": 0, f"{NAME}.documents_cut": 0}
    for part in parts.values():
        for o in dedup_part(stage, part):
            counts[f"stage.{NAME}.chars_cut"] += o.chars_cut
            counts[f"{NAME}.documents_cut"] += bool(o.spans)
            if o.dropped:
                rejected.append(o.doc.id)
            else:
                kept.append((o.doc.id, o.text))
                counts[f"stage.{NAME}.out"] += 1
    counts[f"stage.{NAME}.dropped.{NAME}.too_short"] = len(rejected)
    counts[f"{NAME}.parts_planned"] = stage.parts
    counts[f"{NAME}.parts"] = len(parts)  # the parts that received documents
    return sorted(kept), sorted(rejected), counts


def run(stage, docs, options=(), parts=None):
    """Run ``stage`` in Beam and compare with the reference over ``parts`` parts (default:
    ``stage.parts``; ``parts: auto`` must come to that number)."""
    kept, rejected, counts = reference(dataclasses.replace(stage, parts=parts or stage.parts), docs)
    assert counts[f"{NAME}.documents_cut"] > 5 and rejected, "the corpus must exercise cuts and drops"

    def check_counts(tallies):
        t = Tally.merged(tallies)
        assert {k: t.counts.get(k, 0) for k in counts} == counts
        spans = t.top_items(f"{NAME}.cut_spans")
        assert spans and all(s["occurrences"] >= 2 for s in spans)

    with test_pipeline.TestPipeline(options=PipelineOptions(list(options))) as p:
        out = p | beam.Create(docs) | dedup_transform(stage)
        assert_that(out["kept"] | "Kept" >> beam.Map(lambda d: (d.id, d.text)), equal_to(kept), label="Kept")
        assert_that(out["kept"] | "Signals" >> beam.Map(lambda d: sorted(k for k in d.signals if k.startswith(NAME))),
                    equal_to([[f"{NAME}.chars_cut", f"{NAME}.tokens_cut"]] * len(kept)), label="Signals")
        assert_that(out["rejected"] | "Rejected" >> beam.Map(lambda r: r.doc.id), equal_to(rejected), label="Rej")
        assert_that(out["tallies"], check_counts, label="Tallies")
    return counts


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("seed, options", [
    (0, ()),
    (1, ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]),
    (2, ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]),
])
def test_beam_matches_the_plain_python_reference(parts, seed, options):
    stage = ExactSubstringDedup(min_tokens=20, min_words=40, parts=parts)
    docs = corpus()
    random.Random(seed).shuffle(docs)  # input order, and with it the bundles, differ per run
    counts = run(stage, docs, options)  # asserts Beam == reference inside the pipeline
    assert counts[f"{NAME}.parts"] == parts


def test_more_parts_find_fewer_repeats_but_never_cross_parts():
    docs = corpus()
    one = reference(ExactSubstringDedup(min_tokens=20, parts=1), docs)[2]
    many = reference(ExactSubstringDedup(min_tokens=20, parts=12), docs)[2]
    assert many[f"stage.{NAME}.chars_cut"] < one[f"stage.{NAME}.chars_cut"]


def total_tokens(docs: list[Document]) -> int:
    return sum(tokenizer.get(ExactSubstringDedup().tokenizer).count(d.text) for d in docs)


@pytest.mark.parametrize("options", [(), ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]])
def test_auto_spreads_the_documents_over_tokens_per_part(options):
    docs = corpus()
    total = total_tokens(docs)
    part_tokens = total // 4 + 1  # 3 parts hold fewer than the total, 4 hold it
    assert 3 * part_tokens < total <= 4 * part_tokens
    stage = ExactSubstringDedup(min_tokens=20, min_words=40, part_tokens=part_tokens)
    assert stage.parts == "auto"
    assert reference(dataclasses.replace(stage, parts=4), docs)[2][f"{NAME}.parts"] == 4  # none empty
    run(stage, docs, options, parts=4)


def test_auto_with_room_for_everything_is_one_part():
    docs = corpus(seed=3)
    stage = ExactSubstringDedup(min_tokens=20, min_words=40, part_tokens=total_tokens(docs))
    assert run(stage, docs, parts=1)[f"{NAME}.parts"] == 1
    default = run(ExactSubstringDedup(min_tokens=20, min_words=40), docs, parts=1)  # the default part_tokens
    assert default[f"{NAME}.parts_planned"] == 1


@pytest.mark.parametrize("parts", ["auto", 3])
def test_no_documents_is_one_planned_part_and_nothing_cut(parts):
    def check(tallies):
        counts = Tally.merged(tallies).counts
        assert counts[f"{NAME}.parts_planned"] == (1 if parts == "auto" else 3)
        assert counts.get(f"{NAME}.parts", 0) == 0 and counts.get(f"stage.{NAME}.in", 0) == 0

    with test_pipeline.TestPipeline() as p:
        out = p | beam.Create([], reshuffle=False).with_output_types(Document) | dedup_transform(
            ExactSubstringDedup(parts=parts))
        assert_that(out["kept"], equal_to([]), label="Kept")
        assert_that(out["rejected"], equal_to([]), label="Rej")
        assert_that(out["tallies"], check, label="Tallies")
