"""Does Beam's local multi-process runner lose elements of a large join? (It did: README,
Deduplication at scale; pipeline/beam/private_api.py no_timed_flush says why.)

    python bench/beam_join_loss.py [--docs 900000] [--marks 15] [--workers 16] [--beam-default]

The shape of minhash_dedup's join at the node ids, without webrefine's logic: documents are
grouped by chunk and "signed" (each emits itself and a band entry), band entries are grouped
and each emits ``--marks`` marks, then documents and marks meet in a Flatten and a GroupByKey.
Prints how many documents and marks arrived, and how many should have. The runner is the one
webrefine runs (``direct_runner``, timed flushing off); ``--beam-default`` runs Beam's own
DirectRunner instead. On the 2-core development machine (Beam 2.77, 16 workers, 900k
documents, 13.5M marks; this script and its first version, alternated): with Beam's timer on
8 runs of 8 lost elements (e.g. 854,005 documents, or 13,039,623 marks, arrived); with it off
4 runs of 4 were exact.
"""
from __future__ import annotations

import argparse

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from webrefine.pipeline.beam.private_api import direct_runner


class Sign(beam.DoFn):
    def __init__(self, groups: int) -> None:
        self.groups = groups

    def process(self, kv):
        for n in kv[1]:
            yield n, ("D", "x" * 200)
            yield beam.pvalue.TaggedOutput("bands", (n % self.groups, n))


class Buckets(beam.DoFn):
    def __init__(self, docs: int, marks: int) -> None:
        self.docs, self.marks = docs, marks

    def process(self, kv):
        for n in kv[1]:
            for j in range(self.marks):
                yield (n * 7919 + j) % self.docs, ("L", n)


def at_node(kv):
    docs = sum(1 for v in kv[1] if v[0] == "D")
    yield "documents", docs
    yield "marks", len(kv[1]) - docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=900000)
    ap.add_argument("--marks", type=int, default=15)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--beam-default", action="store_true", help="Beam's DirectRunner, timed flushing on")
    args = ap.parse_args()
    want = {"documents": args.docs, "marks": args.docs * args.marks}
    opts = PipelineOptions(["--no_pipeline_type_check", f"--direct_num_workers={args.workers}",
                            "--direct_running_mode=multi_processing"])
    with beam.Pipeline(runner=None if args.beam_default else direct_runner(opts), options=opts) as p:
        nodes = p | beam.Create(list(range(16))) | beam.Reshuffle() | beam.FlatMap(lambda s: range(s, args.docs, 16))
        signed = (nodes | "ByChunk" >> beam.Map(lambda n: (n // 1000, n)) | "GroupByChunk" >> beam.GroupByKey()
                  | "Sign" >> beam.ParDo(Sign(404)).with_outputs("bands", main="docs"))
        marks = signed.bands | "GroupBands" >> beam.GroupByKey() | "Buckets" >> beam.ParDo(Buckets(args.docs, args.marks))
        _ = ((signed.docs, marks) | "DocsAndMarks" >> beam.Flatten() | "GroupByNode" >> beam.GroupByKey()
             | "AtNode" >> beam.FlatMap(at_node) | beam.CombinePerKey(sum)
             | beam.Map(lambda kv: print(f"{kv[0]}: {kv[1]:,} of {want[kv[0]]:,}", flush=True)))


if __name__ == "__main__":
    main()
