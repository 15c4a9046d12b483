"""The pipeline graph, top to bottom (one screen); each step is a small composite.

  patterns ─ Read: ReadWarc (fastwarc; every record counted) | ReadDocuments (Parquet / JSONL)
     → [SpreadPages: fan out pages]
     → Stages: Stage[url_filter] → Stage[extract] → Stage[language] → … in config order
               → Dedup[exact_dedup] → Dedup[url_dedup] → Dedup[minhash_dedup]
     → Output: CountOutput → WriteDocuments (documents/part-*.parquet)
  drops of every stage ─ Rejects: SampleRejects (bottom-k per reason) → rejects/
  tallies of every step ─ Stats: MergeTallies → stats.json, report.html
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Any

import apache_beam as beam

from webrefine.filters.extract import Extract
from webrefine.filters.stage import GlobalStage, Stage
from webrefine.pipeline.beam.dedup_transforms import dedup_transform
from webrefine.pipeline.beam.dofns import (
    REJECTED, TALLY, ApplyStageFn, CountCharsFn, CountOutputFn, DedupDropsFn, MergeTallies, SampleRejects,
)
from webrefine.pipeline.beam.extraction import ExtractFn
from webrefine.pipeline.beam.read import ReadDocumentsFn, ReadWarcFn, expand_pattern
from webrefine.pipeline.beam.writers import (
    DOCUMENT_SCHEMA, REJECT_SCHEMA, WriteParquetShards, document_row, join, reject_row, write_json, write_text,
)
from webrefine.pipeline.config import RunConfig
from webrefine.pipeline.report.page import render_report
from webrefine.pipeline.stats.build import build_stats


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
            return tuple(s for s in self.config.stages if s.input != "html")
        return self.config.stages

    def stage_names(self) -> tuple[str, ...]:
        first = () if self.document_input else ("read",)
        return first + tuple(s.name for s in self.stages())


def build(p: beam.Pipeline, plan: RunPlan) -> None:
    """The whole job: every composite below, wired."""
    read = p | "Read" >> ReadInputs(plan)  # {"docs": Documents, "tally": Tallies}
    staged = read["docs"] | "Stages" >> ApplyStages(plan)  # {"kept", "rejected", "tally"}
    written = staged["kept"] | "Output" >> WriteDocuments(plan)  # Tallies of the output
    if plan.config.output.rejects_per_reason != 0:
        _ = staged["rejected"] | "Rejects" >> WriteRejects(plan)
    tallies = (read["tally"], staged["tally"], written) | "FlattenTallies" >> beam.Flatten()
    _ = tallies | "Stats" >> WriteStats(plan)


class _PlannedTransform(beam.PTransform):
    """A composite configured by the run plan."""

    def __init__(self, plan: RunPlan) -> None:
        super().__init__()
        self.plan = plan


class ReadInputs(_PlannedTransform):
    """File patterns → Documents and the readers' tallies; spread over workers twice (files,
    then pages with ``fanout: pages``)."""

    def expand(self, p):
        plan = self.plan
        paths = (p
                 | "InputPatterns" >> beam.Create(list(plan.inputs))
                 | "ExpandPatterns" >> beam.FlatMap(expand_pattern)
                 | "SpreadFiles" >> beam.Reshuffle())
        if plan.document_input:
            fn, label = ReadDocumentsFn(plan.input_format, plan.progress_dir, plan.config.read.columns()), "ReadDocuments"
        else:
            fn, label = ReadWarcFn(plan.config.read, plan.progress_dir), "ReadWarc"
        read = paths | label >> beam.ParDo(fn).with_outputs(TALLY, main="docs")
        docs = read["docs"]
        if plan.fanout == "pages":
            docs = docs | "SpreadPages" >> beam.Reshuffle()
        return {"docs": docs, "tally": read[TALLY]}


class ApplyStages(_PlannedTransform):
    """Documents → the kept ones, every drop and every tally, through the configured stages
    in order: per-document stages as fused ParDos, deduplication as composites."""

    def expand(self, docs):
        tallies, rejects = [], []
        for stage in self.plan.stages():
            step = DedupStage(stage, self.plan) if isinstance(stage, GlobalStage) else FilterStage(stage, self.plan)
            label = f"Dedup[{stage.name}]" if isinstance(stage, GlobalStage) else f"Stage[{stage.name}]"
            out = docs | label >> step
            docs = out["kept"]
            tallies.append(out["tally"])
            rejects.append(out["rejected"])
        return {"kept": docs,
                "rejected": rejects | "FlattenRejects" >> beam.Flatten(),
                "tally": tallies | "FlattenStageTallies" >> beam.Flatten()}


class FilterStage(beam.PTransform):
    """One per-document stage: kept documents, drops (for rejects/) and tallies."""

    def __init__(self, stage: Stage, plan: RunPlan) -> None:
        super().__init__()
        self.stage, self.plan = stage, plan

    def expand(self, docs):
        out = self.plan.config.output
        step = ExtractFn if isinstance(self.stage, Extract) else ApplyStageFn  # extraction: its own step
        fn = step(self.stage, out.reject_text_chars, out.rejects_per_reason, self.plan.progress_dir, out.tokenizer)
        res = docs | "Apply" >> beam.ParDo(fn).with_outputs(TALLY, REJECTED, main="kept")
        return {"kept": res["kept"], "rejected": res[REJECTED], "tally": res[TALLY]}


class DedupStage(beam.PTransform):
    """One deduplication stage (``dedup_transforms``), with the characters entering and
    leaving it counted and its drops sampled for stats.json and rejects/."""

    def __init__(self, stage: GlobalStage, plan: RunPlan) -> None:
        super().__init__()
        self.stage, self.plan = stage, plan

    def expand(self, docs):
        name, out = self.stage.name, self.plan.config.output
        chars_in = docs | "CharsIn" >> beam.ParDo(
            CountCharsFn(f"stage.{name}.chars_in", f"stage.{name}.tokens_in", out.tokenizer)).with_outputs(
                TALLY, main="docs")
        result = chars_in["docs"] | "Dedup" >> dedup_transform(self.stage)
        chars_out = result["kept"] | "CharsOut" >> beam.ParDo(
            CountCharsFn(f"stage.{name}.chars_out", f"stage.{name}.tokens_out", out.tokenizer)).with_outputs(
                TALLY, main="docs")
        drops = result["rejected"] | "Drops" >> beam.ParDo(
            DedupDropsFn(out.rejects_per_reason, out.reject_text_chars)).with_outputs(TALLY, REJECTED, main="none")
        tallies = (result["tallies"], chars_in[TALLY], chars_out[TALLY], drops[TALLY])
        return {"kept": chars_out["docs"], "rejected": drops[REJECTED],
                "tally": tallies | "FlattenTallies" >> beam.Flatten()}


class WriteDocuments(_PlannedTransform):
    """Kept documents → documents/part-*.parquet; returns the output's tallies."""

    def expand(self, docs):
        out = self.plan.config.output
        counted = docs | "CountOutput" >> beam.ParDo(CountOutputFn(self.plan.progress_dir, out.tokenizer)).with_outputs(
            TALLY, main="docs")
        _ = (counted["docs"]
             | "DocumentRows" >> beam.Map(document_row, out.tokenizer)
             | "WriteDocuments" >> WriteParquetShards(
                 join(self.plan.output, "documents", "part"), DOCUMENT_SCHEMA, out.compression, out.shard_mb))
        return counted[TALLY]


class WriteRejects(_PlannedTransform):
    """Drops → rejects/: a bounded, deterministic sample per reason (or all of them, if asked)."""

    def expand(self, rejects):
        out = self.plan.config.output
        if out.rejects_per_reason > 0:
            rejects = (rejects
                       | "SampleRejects" >> beam.CombineGlobally(SampleRejects(out.rejects_per_reason))
                       | "Unpack" >> beam.FlatMap(lambda rows: rows))
        return (rejects
                | "RejectRows" >> beam.Map(reject_row)
                | "WriteRejects" >> WriteParquetShards(
                    join(self.plan.output, "rejects", "part"), REJECT_SCHEMA, out.compression, out.shard_mb,
                    num_shards=1 if out.rejects_per_reason > 0 else 0))


class WriteStats(_PlannedTransform):
    """Every step's tallies, merged into one → stats.json and report.html, written once."""

    def expand(self, tallies):
        return (tallies
                | "MergeTallies" >> beam.CombineGlobally(MergeTallies())
                | "WriteStats" >> beam.Map(write_stats, self.plan.stage_names(), self.plan.header,
                                           self.plan.document_input, self.plan.output))


def write_stats(tally, names, header, document_input, output):
    stats = build_stats(tally, names, {**header, "finished": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds")}, document_input)
    write_json(join(output, "stats.json"), stats)
    try:  # the page is a view of stats.json: a bug in it must not fail a finished run
        write_text(join(output, "report.html"), render_report(stats))
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("webrefine: could not write report.html")
    return stats
