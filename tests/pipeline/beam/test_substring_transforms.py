"""Beam wiring of exact_substring_dedup: the plain-Python result (dedup/substring.py), part by
part, whatever the input order, bundling, worker count or part count."""
from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from webrefine.dedup.substring import ExactSubstringDedup, dedup_part
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
    return sorted(kept), sorted(rejected), counts


def run(stage, docs, options=()):
    kept, rejected, counts = reference(stage, docs)
    assert counts[f"{NAME}.documents_cut"] > 5 and rejected, "the corpus must exercise cuts and drops"

    def check_counts(tallies):
        t = Tally.merged(tallies)
        assert {k: t.counts.get(k, 0) for k in counts} == counts
        spans = t.top_items(f"{NAME}.cut_spans")
        assert spans and all(s["occurrences"] >= 2 for s in spans)

    with TestPipeline(options=PipelineOptions(list(options))) as p:
        out = p | beam.Create(docs) | dedup_transform(stage)
        assert_that(out["kept"] | "Kept" >> beam.Map(lambda d: (d.id, d.text)), equal_to(kept), label="Kept")
        assert_that(out["kept"] | "Signals" >> beam.Map(lambda d: sorted(k for k in d.signals if k.startswith(NAME))),
                    equal_to([[f"{NAME}.chars_cut", f"{NAME}.tokens_cut"]] * len(kept)), label="Signals")
        assert_that(out["rejected"] | "Rejected" >> beam.Map(lambda r: r.doc.id), equal_to(rejected), label="Rej")
        assert_that(out["tallies"], check_counts, label="Tallies")


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
    run(stage, docs, options)


def test_more_parts_find_fewer_repeats_but_never_cross_parts():
    docs = corpus()
    one = reference(ExactSubstringDedup(min_tokens=20, parts=1), docs)[2]
    many = reference(ExactSubstringDedup(min_tokens=20, parts=12), docs)[2]
    assert many[f"stage.{NAME}.chars_cut"] < one[f"stage.{NAME}.chars_cut"]
