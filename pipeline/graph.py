"""The pipeline graph, top to bottom (DESIGN.md's one screen).

  paths ─ ReadWarc (fastwarc; every record counted) ─ [Reshuffle: fan out pages] ──┐
  paths ─ ReadDocuments (Parquet / JSONL text) ─────────────────────────────────────┤
     ┌──────────────────────────────────────────────────────────────────────────────┘
     └ Stage[url_filter] → Stage[extract] → Stage[language] → … filters, in config order
       → Dedup[exact_dedup] → Dedup[url_dedup] → Dedup[minhash_dedup]
       → CountOutput → WriteDocuments (documents/part-*.parquet)
  drops of every stage ─ SampleRejects (bottom-k per reason) ─ WriteRejects (rejects/)
  tallies of every step ─ MergeTallies ─ WriteStats (stats.json, report.html)
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

import apache_beam as beam

from filters.base import GlobalStage, Stage
from pipeline import documents
from pipeline.config import RunConfig
from pipeline.stages import (
    REJECTED, TALLY, ApplyStageFn, CountOutputFn, MergeTallies, ReadWarcFn, SampleRejects,
    CountCharsFn, DedupDropsFn,
)
from pipeline.stats import build_stats
from pipeline.write import (
    DOCUMENT_SCHEMA, REJECT_SCHEMA, WriteParquetShards, document_row, join, reject_row, write_json, write_text,
)


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What the driver resolved before building the graph."""

    inputs: tuple[str, ...]  # matched input files
    input_format: str  # "warc" | "parquet" | "jsonl"
    output: str
    config: RunConfig
    header: dict[str, Any]  # run header for stats.json (versions, config, start time)
    fanout: str = "pages"  # "pages": Reshuffle pages after reading; "files": only files
    progress_dir: str | None = None

    @property
    def document_input(self) -> bool:
        return self.input_format != "warc"

    def stages(self) -> tuple[Stage | GlobalStage, ...]:
        # Text datasets are already extracted: extraction is skipped, every later stage applies.
        if self.document_input:
            return tuple(s for s in self.config.stages if s.name != "extract")
        return self.config.stages

    def stage_names(self) -> tuple[str, ...]:
        first = () if self.document_input else ("read",)
        return first + tuple(s.name for s in self.stages())


def expand_pattern(pattern: str) -> list[str]:
    """A glob (local, gs://, s3://) → the files it matches, on the worker's credentials."""
    from apache_beam.io.filesystems import FileSystems

    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def build(p: beam.Pipeline, plan: RunPlan) -> None:
    cfg, out = plan.config, plan.config.output
    emit_rejects = out.rejects_per_reason != 0
    tallies, rejects = [], []

    # Input: file paths → Documents; spread over workers twice (files, then pages).
    paths = (p
             | "InputPatterns" >> beam.Create(list(plan.inputs))
             | "ExpandPatterns" >> beam.FlatMap(expand_pattern)
             | "SpreadFiles" >> beam.Reshuffle())
    if plan.document_input:
        read = paths | "ReadDocuments" >> beam.ParDo(
            documents.ReadDocumentsFn(plan.input_format, plan.progress_dir, plan.config.read.columns())).with_outputs(TALLY, main="docs")
    else:
        read = paths | "ReadWarc" >> beam.ParDo(
            ReadWarcFn(cfg.read, plan.progress_dir)).with_outputs(TALLY, main="docs")
    tallies.append(read[TALLY])
    docs = read["docs"]
    if plan.fanout == "pages":
        docs = docs | "SpreadPages" >> beam.Reshuffle()

    # Stages in config order: per-document stages as fused ParDos, dedup as PTransforms.
    for stage in plan.stages():
        if isinstance(stage, GlobalStage):
            from pipeline.dedup import dedup_transform  # Beam side of dedup/

            chars_in = docs | f"CharsIn[{stage.name}]" >> beam.ParDo(
                CountCharsFn(f"stage.{stage.name}.chars_in")).with_outputs(TALLY, main="docs")
            result = chars_in["docs"] | f"Dedup[{stage.name}]" >> dedup_transform(stage)
            chars_out = result["kept"] | f"CharsOut[{stage.name}]" >> beam.ParDo(
                CountCharsFn(f"stage.{stage.name}.chars_out")).with_outputs(TALLY, main="docs")
            drops = result["rejected"] | f"Drops[{stage.name}]" >> beam.ParDo(
                DedupDropsFn(out.rejects_per_reason, out.reject_text_chars)).with_outputs(TALLY, REJECTED, main="none")
            docs = chars_out["docs"]
            tallies += [result["tallies"], chars_in[TALLY], chars_out[TALLY], drops[TALLY]]
            if emit_rejects:
                rejects.append(drops[REJECTED])
            continue
        fn = ApplyStageFn(stage, out.reject_text_chars, out.rejects_per_reason, plan.progress_dir)
        res = docs | f"Stage[{stage.name}]" >> beam.ParDo(fn).with_outputs(TALLY, REJECTED, main="kept")
        docs = res["kept"]
        tallies.append(res[TALLY])
        if emit_rejects:
            rejects.append(res[REJECTED])

    # Output documents.
    counted = docs | "CountOutput" >> beam.ParDo(CountOutputFn(plan.progress_dir)).with_outputs(TALLY, main="docs")
    tallies.append(counted[TALLY])
    (counted["docs"]
     | "DocumentRows" >> beam.Map(document_row)
     | "WriteDocuments" >> WriteParquetShards(
         join(plan.output, "documents", "part"), DOCUMENT_SCHEMA, out.compression, out.shard_mb))

    # Rejects: a bounded, deterministic sample per reason (or all of them, if asked).
    if emit_rejects:
        all_rejects = rejects | "FlattenRejects" >> beam.Flatten()
        if out.rejects_per_reason > 0:
            all_rejects = (all_rejects
                           | "SampleRejects" >> beam.CombineGlobally(SampleRejects(out.rejects_per_reason))
                           | "Unpack" >> beam.FlatMap(lambda rows: rows))
        (all_rejects
         | "RejectRows" >> beam.Map(reject_row)
         | "WriteRejects" >> WriteParquetShards(
             join(plan.output, "rejects", "part"), REJECT_SCHEMA, out.compression, out.shard_mb,
             num_shards=1 if out.rejects_per_reason > 0 else 0))

    # Stats: every step's tallies merged into one, written once.
    names, header, document_input, output = plan.stage_names(), plan.header, plan.document_input, plan.output

    def write_stats(tally):
        import datetime

        stats = build_stats(tally, names, {**header, "finished": datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec="seconds")}, document_input)
        write_json(join(output, "stats.json"), stats)
        try:  # the page is a view of stats.json: a bug in it must not fail a finished run
            from pipeline.report import render_report

            write_text(join(output, "report.html"), render_report(stats))
        except Exception:  # noqa: BLE001
            logging.getLogger(__name__).exception("webrefine: could not write report.html")
        return stats

    (tallies
     | "FlattenTallies" >> beam.Flatten()
     | "MergeTallies" >> beam.CombineGlobally(MergeTallies())
     | "WriteStats" >> beam.Map(write_stats))
