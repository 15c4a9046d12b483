"""The pipeline graph, top to bottom (one screen); each step is a small composite.

  patterns ─ Files: expand patterns, spread files over workers
     → ProcessFiles, one whole file at a time (per_file.py): read (fastwarc WARC, or Parquet /
       JSONL) → url_filter → extract → language → … every per-document stage in config order;
       each file's results committed to OUT/_work/ with a completion marker, or replayed from
       there when an earlier attempt committed them (--resume); a DocRef per kept document
     → Stages: Dedup[exact_dedup] → Dedup[url_dedup] → Dedup[minhash_dedup] over every file, on
       DocRefs (with --dedup-against: ReadEarlier feeds the earlier runs' index entries into each
       stage's shuffles) → Resolve: the fates back to Documents, read from OUT/_work/ by chunk
       (resolve.py) → Dedup[exact_substring_dedup], on Documents
     → Output: CountOutput → WriteDocuments (documents/part-*.parquet) → DedupIndex (index/part-*.parquet)
  drops of every stage ─ Rejects: SampleRejects (bottom-k per reason) → rejects/
  tallies of every step ─ Stats: MergeTallies → stats.json, report.html
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Any

import apache_beam as beam

from webrefine.dedup.exact import ExactDedup
from webrefine.filters.stage import GlobalStage, Stage
from webrefine.pipeline.beam.combine_all import CombineAll
from webrefine.pipeline.beam.dedup_index import EarlierRun, ReadEarlier, WriteDedupIndex
from webrefine.pipeline.beam.dedup_transforms import REF_STAGES, dedup_transform
from webrefine.pipeline.beam.dofns import (
    REJECTED, TALLY, CountCharsFn, CountOutputFn, DedupDropsFn, MergeTallies, SampleRejects,
)
from webrefine.pipeline.beam.per_file import ProcessFileFn, work_dir
from webrefine.pipeline.beam.read import expand_pattern
from webrefine.pipeline.beam.resolve import Resolve
from webrefine.pipeline.beam.shards import WriteParquetShards
from webrefine.pipeline.beam.writers import (
    DOCUMENT_SCHEMA, REJECT_SCHEMA, document_row, join, reject_row, write_json, write_text,
)
from webrefine.pipeline.config import RunConfig
from webrefine.pipeline.report.page import render_report
from webrefine.pipeline.stats.build import build_stats
from webrefine.pipeline.stats.tally import Tally


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What the driver resolved before building the graph."""

    inputs: tuple[str, ...]  # matched input files
    input_format: str  # "warc" | "parquet" | "jsonl"
    output: str
    config: RunConfig
    header: dict[str, Any]  # run header for stats.json (versions, config, start time)
    progress_dir: str | None = None
    earlier: tuple[EarlierRun, ...] = ()  # --dedup-against runs (dedup_index.py), checked by the driver

    @property
    def document_input(self) -> bool:
        return self.input_format != "warc"

    def stages(self) -> tuple[Stage | GlobalStage, ...]:
        # Text datasets are already extracted: extraction is skipped, every later stage applies.
        if self.document_input:
            return tuple(s for s in self.config.stages if s.input != "html")
        return self.config.stages

    def document_stages(self) -> tuple[Stage, ...]:
        """The per-document phase: every stage before deduplication (config.py keeps them first)."""
        return tuple(s for s in self.stages() if not isinstance(s, GlobalStage))

    def global_stages(self) -> tuple[GlobalStage, ...]:
        return tuple(s for s in self.stages() if isinstance(s, GlobalStage))

    def stage_names(self) -> tuple[str, ...]:
        first = () if self.document_input else ("read",)
        return first + tuple(s.name for s in self.stages())


def build(p: beam.Pipeline, plan: RunPlan) -> None:
    """The whole job: every composite below, wired."""
    files = p | "Files" >> ProcessFiles(plan)  # {"docs": Documents, "rejected", "tally"}
    staged = files | "Stages" >> ApplyGlobalStages(plan)  # {"kept", "rejected", "tally"}
    written = staged["kept"] | "Output" >> WriteDocuments(plan)  # Tallies of the output
    if plan.config.output.rejects_per_reason != 0:
        _ = staged["rejected"] | "Rejects" >> WriteRejects(plan)
    tallies = (staged["tally"], written) | "FlattenTallies" >> beam.Flatten()
    _ = tallies | "Stats" >> WriteStats(plan)


class _PlannedTransform(beam.PTransform):
    """A composite configured by the run plan."""

    def __init__(self, plan: RunPlan) -> None:
        super().__init__()
        self.plan = plan


class ProcessFiles(_PlannedTransform):
    """File patterns → every per-document stage, one whole file at a time, committed per file
    to the work area (``per_file.py``): a DocRef per kept document (the Document itself when no
    dedup stage compares references), drops and tallies."""

    def expand(self, p):
        plan = self.plan
        exact = next((s for s in plan.global_stages() if isinstance(s, ExactDedup)), None)
        refs = any(isinstance(s, REF_STAGES) for s in plan.global_stages())
        fn = ProcessFileFn(plan.input_format, plan.config.read, plan.document_stages(), plan.config.output,
                           work_dir(plan.output), plan.progress_dir, refs, exact.key if exact is not None else None)
        res = (p
               | "InputPatterns" >> beam.Create(list(plan.inputs))
               | "ExpandPatterns" >> beam.FlatMap(expand_pattern)
               | "SpreadFiles" >> beam.Reshuffle()
               | "ProcessFiles" >> beam.ParDo(fn).with_outputs(TALLY, REJECTED, main="docs"))
        return {"docs": res["docs"], "rejected": res[REJECTED], "tally": res[TALLY]}


class ApplyGlobalStages(_PlannedTransform):
    """The per-file results → the kept documents, every drop and every tally, through the
    deduplication stages in config order, over all files at once."""

    def expand(self, files):
        refs, tallies, rejects = files["docs"], [files["tally"]], [files["rejected"]]
        earlier, dropped = {}, []
        if self.plan.earlier:  # the earlier runs' index entries, one PCollection per dedup stage
            earlier = refs.pipeline | "ReadEarlier" >> ReadEarlier(self.plan.earlier, self.plan.global_stages())
        stages = self.plan.global_stages()
        on_refs = [s for s in stages if isinstance(s, REF_STAGES)]  # config.py keeps them first
        for stage in on_refs:
            out = refs | f"Dedup[{stage.name}]" >> DedupStage(stage, self.plan, earlier.get(stage.name))
            refs = out["kept"]
            tallies.append(out["tally"])
            dropped.append(out["rejected"])
        docs = refs  # without such stages, ProcessFiles gave the Documents themselves
        if on_refs:
            resolved = ((refs, dropped | "FlattenDropped" >> beam.Flatten())
                        | "Resolve" >> Resolve(work_dir(self.plan.output)))
            docs = resolved["kept"]
            drops = resolved["rejected"] | "Drops" >> beam.ParDo(
                DedupDropsFn(self.plan.config.output.rejects_per_reason, self.plan.config.output.reject_text_chars)
            ).with_outputs(TALLY, REJECTED, main="none")
            tallies.append(drops[TALLY])
            rejects.append(drops[REJECTED])
        for stage in stages[len(on_refs):]:
            out = docs | f"Dedup[{stage.name}]" >> DedupStage(stage, self.plan, earlier.get(stage.name))
            docs = out["kept"]
            tallies.append(out["tally"])
            rejects.append(out["rejected"])
        return {"kept": docs,
                "rejected": rejects | "FlattenRejects" >> beam.Flatten(),
                "tally": tallies | "FlattenStageTallies" >> beam.Flatten()}


class DedupStage(beam.PTransform):
    """One deduplication stage (``dedup_transforms``), with the characters entering and
    leaving it counted, and its drops: sampled for stats.json and rejects/ here when the stage
    takes Documents; given back as Rejections of DocRefs, resolved later, when it takes DocRefs."""

    def __init__(self, stage: GlobalStage, plan: RunPlan, earlier_entries=None) -> None:
        super().__init__()
        self.stage, self.plan, self.earlier_entries = stage, plan, earlier_entries

    def expand(self, docs):
        name, out = self.stage.name, self.plan.config.output
        chars_in = docs | "CharsIn" >> beam.ParDo(
            CountCharsFn(f"stage.{name}.chars_in", f"stage.{name}.tokens_in", out.tokenizer)).with_outputs(
                TALLY, main="docs")
        runs = self.plan.earlier if self.earlier_entries is not None else ()
        result = chars_in["docs"] | "Dedup" >> dedup_transform(self.stage, work_dir(self.plan.output),
                                                               self.earlier_entries, runs)
        chars_out = result["kept"] | "CharsOut" >> beam.ParDo(
            CountCharsFn(f"stage.{name}.chars_out", f"stage.{name}.tokens_out", out.tokenizer)).with_outputs(
                TALLY, main="docs")
        if isinstance(self.stage, REF_STAGES):
            tallies = (result["tallies"], chars_in[TALLY], chars_out[TALLY])
            return {"kept": chars_out["docs"], "rejected": result["rejected"],
                    "tally": tallies | "FlattenTallies" >> beam.Flatten()}
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
        finalized = (counted["docs"]
                     | "DocumentRows" >> beam.Map(document_row, out.tokenizer)
                     | "WriteDocuments" >> WriteParquetShards(
                         join(self.plan.output, "documents", "part"), DOCUMENT_SCHEMA, out.compression, out.shard_mb))
        # the dedup index of the final documents, for later runs' --dedup-against (dedup_index.py)
        _ = finalized | "DedupIndex" >> WriteDedupIndex(self.plan.output, self.plan.global_stages(),
                                                        out.compression, out.shard_mb)
        return counted[TALLY]


class WriteRejects(_PlannedTransform):
    """Drops → rejects/: a bounded, deterministic sample per reason (or all of them, if asked)."""

    def expand(self, rejects):
        out = self.plan.config.output
        if out.rejects_per_reason > 0:
            rejects = (rejects
                       | "SampleRejects" >> CombineAll(SampleRejects(out.rejects_per_reason), None)
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
                | "MergeTallies" >> CombineAll(MergeTallies(), Tally())
                | "WriteStats" >> beam.Map(write_stats, self.plan.stage_names(), self.plan.header,
                                           self.plan.document_input, self.plan.output))


def write_stats(tally, names, header, document_input, output):
    stats = build_stats(tally, names, {**header, "finished": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds")}, document_input)
    write_stats_files(stats, output)
    return stats


def write_stats_files(stats: dict[str, Any], output: str) -> None:
    write_json(join(output, "stats.json"), stats)
    try:  # the page is a view of stats.json: a bug in it must not fail a finished run
        write_text(join(output, "report.html"), render_report(stats))
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("webrefine: could not write report.html")
