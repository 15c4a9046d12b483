"""``webrefine``: the one command line (also ``python -m webrefine``).

  webrefine run [--input PATTERN ...] --output OUT [--config NAME|PATH] [--overwrite | --resume]
                [--dedup-against OUT ...] [Beam options]
  webrefine configs
  webrefine report OUT [OUT2 ...] [--output PATH] [--stats PATH]

Our flags are parsed first; everything else is handed to Beam untouched (``--runner``,
``--project``, ``--direct_num_workers`` ...). Exit status of ``run``: 0 when every input
record was read, 3 when the run completed but some records or files could not be read
(see stats.json "errors" and "file_errors"), 2 for a usage or config error, 1 when the
pipeline itself failed, 130 when interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import glob
import logging
import os
import platform
import sys
from typing import Any, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT_ERRORS = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sample.warc.gz")
LOCAL_RUNNERS = {"directrunner", "direct", "portablerunner", "prismrunner", "interactiverunner"}


class UsageError(Exception):
    pass


def version() -> str:
    try:
        from importlib.metadata import version as package_version

        return package_version("webrefine")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "0+source"


class _BeamImportNoise(logging.Filter):
    """Beam without its [gcp] extra logs "apitools not found, and bigquery client libraries
    are not available ..." when imported: noise for a job that reads no BigQuery."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("apitools not found")


class _InterruptNoise(logging.Filter):
    """Ctrl-C inside a DoFn: Beam logs the KeyboardInterrupt with a traceback before it
    reaches us; we say "interrupted" once instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[0] if record.exc_info else None
        return not ((exc and issubclass(exc, KeyboardInterrupt)) or str(record.msg).startswith("KeyboardInterrupt"))


class _WorkerNoise(logging.Filter):
    """What every worker of a multi-process local run logs at start, relayed by Beam as
    WARNINGs: Beam's own internal flags it does not parse, and a directory this pipeline
    does not use."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("No semi_persistent_directory found" in msg
                    or ("Discarding unparseable args" in msg and "direct_runner_use_stacked_bundle" in msg))


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger().addFilter(_BeamImportNoise())
    logging.getLogger("apache_beam.runners.portability.local_job_service").addFilter(_WorkerNoise())
    logging.getLogger("apache_beam.runners.common").addFilter(_InterruptNoise())
    # allow_abbrev=False: a mistyped --overwrit must not pass for --overwrite.
    parser = argparse.ArgumentParser(prog="webrefine", description="RefinedWeb-style web data curation on Apache Beam.",
                                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"webrefine {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="run the pipeline (other flags go to Beam)", allow_abbrev=False)
    run_p.add_argument("--input", action="append", default=None, metavar="PATTERN",
                       help="WARC (.warc, .warc.gz) or text (.parquet, .jsonl[.gz]) files; globs, gs://, s3://; "
                            "repeatable (default: the bundled sample WARC)")
    run_p.add_argument("--output", required=True, help="output directory (local, gs://, s3://)")
    run_p.add_argument("--config", default="refinedweb", help="preset name in configs/ or a YAML path")
    run_p.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier run in --output")
    run_p.add_argument("--resume", action="store_true",
                       help="continue an interrupted run in --output: input files it finished are not read again "
                            "(same inputs and config required)")
    run_p.add_argument("--keep-work", action="store_true",
                       help="keep the per-file results in OUTPUT/_work after a finished run (removed by default)")
    run_p.add_argument("--no-progress", action="store_true", help="no live progress line on local runs")
    run_p.add_argument("--dedup-against", action="extend", nargs="+", default=None, metavar="OUT",
                       help="earlier runs' outputs (local, gs://, s3://; repeatable): drop documents whose text, URL "
                            "or near-duplicate cluster matches a document they kept (their OUT/index/)")
    sub.add_parser("configs", help="list the config presets", allow_abbrev=False)
    rep_p = sub.add_parser("report", help="write report.html for one run, or several merged, and print a summary",
                           allow_abbrev=False)
    rep_p.add_argument("runs", nargs="+", metavar="OUT", help="run output directories or stats.json paths "
                       "(local, gs://, s3://); several (shards, dumps) are merged exactly")
    rep_p.add_argument("--output", help="path of the HTML report (default OUT/report.html; needed for several OUTs)")
    rep_p.add_argument("--stats", help="also write the merged stats.json to this path")
    rep_p.add_argument("--allow-mixed-configs", action="store_true",
                       help="merge runs made with different configs (refused otherwise)")
    args, beam_args = parser.parse_known_args(argv)
    if args.command == "configs":
        from webrefine.pipeline.config import CONFIG_DIR, load_config, preset_names

        for name in preset_names():
            description = load_config(name).description
            print(f"{name:12s} {description}\n{'':12s} {os.path.join(CONFIG_DIR, name + '.yaml')}")
        return EXIT_OK
    if args.command != "run" and beam_args:
        parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    if args.command == "report":
        from webrefine.pipeline.beam.writers import read_text, write_text
        from webrefine.pipeline.report.summary import report_command

        return report_command(args.runs, args.output, args.stats, write_text, read_text, args.allow_mixed_configs)
    try:
        return run(args, beam_args)
    except UsageError as exc:
        print(f"webrefine: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("webrefine: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console_main() -> int:
    """Entry point of the ``webrefine`` command and ``python -m webrefine``."""
    from webrefine.pipeline.malloc_arenas import limit_arenas

    if "multi_processing" in " ".join(sys.argv[1:]):  # where it pays (pipeline/malloc_arenas.py)
        limit_arenas()  # before Beam starts threads and workers; not in main(): tests call it in-process
    status = main()
    if status == EXIT_INTERRUPTED:
        # The runner's threads were stopped mid-bundle and may never finish; the outputs are
        # already cleaned up, so leave without waiting for them at interpreter exit.
        sys.stderr.flush()
        os._exit(status)
    # Beam imports about a million objects; the garbage collection passes of interpreter
    # shutdown walk them all (a noticeable part of a short run). Freezing them first skips that walk;
    # atexit handlers and file closing still run. Not in main(): tests call it in-process.
    gc.freeze()
    return status


def run_header(cfg, inputs: Sequence[str], input_fmt: str, runner: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    versions = {"webrefine": version(), "python": platform.python_version()}
    for pkg in ("apache-beam", "trafilatura", "fastwarc", "fasttext-predict", "datasketch", "pyarrow"):
        try:
            versions[pkg] = package_version(pkg)
        except PackageNotFoundError:
            pass
    header: dict[str, Any] = {
        "config_name": cfg.name,
        "config_hash": cfg.fingerprint(),
        "config": cfg.to_dict(),
        "versions": versions,
        "runner": runner,
        "input_format": input_fmt,
        "input_files": list(inputs[:1000]),
        "input_files_total": len(inputs),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    for stage in cfg.stages:
        if hasattr(stage, "fingerprint"):  # signatures are tied to their normaliser (docs/rules.md, Deduplication)
            header[f"{stage.name}_fingerprint"] = stage.fingerprint()
        if stage.name == "language":
            from webrefine.filters.language import model_fingerprint

            header["language_model"] = {"path": stage.model_path(), "sha256": model_fingerprint(stage.model_path())}
    return header


def runs_in_this_process(beam_args: Sequence[str]) -> bool:
    """True for the default local run: DirectRunner, in-process, so one worker."""
    flags = " ".join(beam_args)
    return not ("multi_processing" in flags or ("--runner" in flags and "directrunner" not in flags.lower()))


# One in-process worker feeds about this many extraction helpers before it becomes the
# bottleneck itself (README, Performance: the scaling measurements; bench/scaling.py).
AUTO_PROCESSES_MAX = 8


def resolve_auto_processes(cfg, beam_args: Sequence[str]):
    """``extract: {processes: 0}`` (the default): the machine's cores, up to
    AUTO_PROCESSES_MAX, on an in-process run; 1 where the runner starts a worker per core."""
    from webrefine.filters.extract import Extract

    if not any(isinstance(s, Extract) and s.processes == 0 for s in cfg.stages):
        return cfg
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(cores, AUTO_PROCESSES_MAX) if runs_in_this_process(beam_args) else 1
    stages = tuple(s.with_processes(n) if isinstance(s, Extract) else s for s in cfg.stages)
    return dataclasses.replace(cfg, stages=stages)


def prestart_extraction(cfg, inputs: Sequence[str], beam_args: list[str]) -> None:
    """On an in-process local run over WARC files, start the extractor's helper processes
    now, so they import trafilatura while this process imports Beam and builds the graph."""
    if not runs_in_this_process(beam_args):
        return  # the stages run in other processes
    if not all(p.lower().endswith((".warc", ".warc.gz", ".arc.gz")) for p in inputs):
        return  # text input: no extraction
    from webrefine.filters.extract import Extract

    # local WARC files: the helpers extract pages of them before the first one reaches them
    # (pool.Prefetch); the first Extract stage only, the one that sees the pages as read
    paths = sorted({p for pattern in inputs for p in glob.glob(pattern) if os.path.isfile(p)})
    for stage in cfg.stages:
        if isinstance(stage, Extract):
            stage.prestart(paths, dataclasses.asdict(cfg.read))
            paths = []


def run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webrefine.pipeline.config import ConfigError, load_config

    if not args.input:
        print(f"webrefine: no --input given: curating the bundled sample ({SAMPLE})", file=sys.stderr)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    # config.yaml and the run header keep processes: 0 (auto) as asked, so the config hash
    # does not depend on the machine; the job runs with the resolved value.
    runtime_cfg = resolve_auto_processes(cfg, beam_args)
    prestart_extraction(runtime_cfg, args.input or [SAMPLE], beam_args)

    from webrefine.pipeline.beam.run import run_job

    status, stats = run_job(args, beam_args, cfg, runtime_cfg, run_header)
    if stats is None:
        return status
    print_summary(stats)
    out = args.output.rstrip("/")
    print(f"documents: {out}/documents  stats: {out}/stats.json  report: {out}/report.html")
    return exit_status(stats)


def exit_status(stats: dict[str, Any]) -> int:
    """The run's exit code from its stats. Every input record must end up kept, dropped with a
    reason or counted as an error: when they do not add up, records were lost on the way (a
    runner that drops bundles: see the README's "Deduplication at scale"), the documents are
    incomplete and the run fails rather than exit 0."""
    from webrefine.pipeline.stats.build import check_invariant, lost_messages

    units, accounted = check_invariant(stats)
    if units != accounted:
        print(f"webrefine: error: {units:,} input records but {accounted:,} accounted for (kept, dropped "
              f"or errors): records were lost during the run and its output is incomplete; run it "
              f"again, in-process or on another runner", file=sys.stderr)
        return EXIT_FAILED
    lost = lost_messages(stats)
    if lost:
        print(f"webrefine: error: the runner lost messages between dedup steps ({'; '.join(lost)}): "
              f"duplicates may have been kept; run it again, in-process or on another runner", file=sys.stderr)
        return EXIT_FAILED
    if stats["errors"] or stats["file_errors"]:
        return EXIT_INPUT_ERRORS
    return EXIT_OK


def print_summary(stats: dict[str, Any]) -> None:
    inp = stats["input"]
    units = inp.get("responses", inp.get("rows", 0))
    print(f"input: {inp.get('files', 0)} files, {units:,} {'responses' if 'responses' in inp else 'rows'}")
    resumed = stats.get("resume", {}).get("files_resumed", 0)
    if resumed:
        print(f"resumed: {resumed} file(s) done by the interrupted run were not read again; "
              f"{stats['resume'].get('files_processed', 0)} processed now")
    width = max([20] + [len(st["name"]) for st in stats["stages"]])  # exact_substring_dedup is 21
    print(f"{'stage':{width}s} {'in':>9s} {'out':>9s} {'dropped':>9s}  top reasons")
    for st in stats["stages"]:
        dropped = sum(st["dropped"].values())
        top = ", ".join(f"{r}={n}" for r, n in sorted(st["dropped"].items(), key=lambda x: -x[1])[:3])
        print(f"{st['name']:{width}s} {st['in']:>9,} {st['out']:>9,} {dropped:>9,}  {top}")
    kept = stats["output"]["documents"]
    share = f" ({kept / units:.1%} of input)" if units else ""
    print(f"output: {kept:,} documents{share}")
    if stats["errors"] or stats["file_errors"]:
        print(f"errors: {stats['errors']}  file errors: {stats['file_errors']}")


if __name__ == "__main__":
    sys.exit(main())
