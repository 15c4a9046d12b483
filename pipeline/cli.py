"""``webrefine``: the one command line (also ``python -m pipeline``).

  webrefine run [--input PATTERN ...] --output OUT [--config NAME|PATH] [Beam options]
  webrefine configs
  webrefine report OUT [OUT2 ...] [--output PATH] [--stats PATH]

Our flags are parsed first; everything else is handed to Beam untouched (``--runner``,
``--project``, ``--direct_num_workers`` ...). Exit status of ``run``: 0 when every input
record was read, 3 when the run completed but some records or files could not be read
(see stats.json "errors" and "file_errors"), 2 for a usage or config error, 1 when the
pipeline itself failed.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
from typing import Any, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT_ERRORS = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "sample.warc.gz")
LOCAL_RUNNERS = {"directrunner", "direct", "portablerunner", "prismrunner", "interactiverunner"}


class UsageError(Exception):
    pass


def version() -> str:
    try:
        from importlib.metadata import version as v

        return v("webrefine")
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


def main(argv: Sequence[str] | None = None) -> int:
    logging.getLogger().addFilter(_BeamImportNoise())
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
    run_p.add_argument("--fanout", choices=("auto", "pages", "files"), default="auto",
                       help="spread pages over workers after reading (pages) or only files; auto: pages on "
                            "distributed runners, files on local ones (they would hold every page in memory)")
    run_p.add_argument("--no-progress", action="store_true", help="no live progress line on local runs")
    sub.add_parser("configs", help="list the config presets", allow_abbrev=False)
    rep_p = sub.add_parser("report", help="write report.html for one run, or several merged, and print a summary",
                           allow_abbrev=False)
    rep_p.add_argument("runs", nargs="+", metavar="OUT", help="run output directories or stats.json paths "
                       "(local, gs://, s3://); several (shards, dumps) are merged exactly")
    rep_p.add_argument("--output", help="path of the HTML report (default OUT/report.html; needed for several OUTs)")
    rep_p.add_argument("--stats", help="also write the merged stats.json to this path")
    args, beam_args = parser.parse_known_args(argv)
    if args.command == "configs":
        from pipeline.config import CONFIG_DIR, load_config, preset_names

        for name in preset_names():
            description = load_config(name).description
            print(f"{name:12s} {description}\n{'':12s} {os.path.join(CONFIG_DIR, name + '.yaml')}")
        return EXIT_OK
    if args.command != "run" and beam_args:
        parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    if args.command == "report":
        from pipeline.report import report_command
        from pipeline.write import write_text

        return report_command(args.runs, args.output, args.stats, write_text)
    try:
        return run(args, beam_args)
    except UsageError as exc:
        print(f"webrefine: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("webrefine: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def console_main() -> int:
    """Entry point of the ``webrefine`` command and ``python -m pipeline``."""
    status = main()
    if status == EXIT_INTERRUPTED:
        # The runner's threads were stopped mid-bundle and may never finish; the outputs are
        # already cleaned up, so leave without waiting for them at interpreter exit.
        sys.stderr.flush()
        os._exit(status)
    # Beam imports about a million objects; the garbage collection passes of interpreter
    # shutdown walk them all (0.4-0.5 s of every run). Freezing them first skips that walk;
    # atexit handlers and file closing still run. Not in main(): tests call it in-process.
    gc.freeze()
    return status


OUR_FLAGS = ("--input", "--output", "--config", "--overwrite", "--fanout", "--no-progress")


def check_beam_flags(beam_args: Sequence[str]) -> None:
    """Every flag that is not ours must be one Beam defines: Beam itself only warns about
    the others and runs on, so `--inputs x` would curate the bundled sample and exit 0."""
    import difflib

    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(list(beam_args))
    known = options.get_all_options(retain_unknown_options=False)
    unknown = [k for k in options.get_all_options(retain_unknown_options=True) if k not in known]
    if unknown:
        flag = "--" + unknown[0]
        close = difflib.get_close_matches(flag, [*OUR_FLAGS, *("--" + k for k in known)], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown flag {flag}{hint}: not a webrefine flag, and not one Beam defines")


def check_config_fits(cfg, input_fmt: str) -> None:
    """Configs that would run and keep nothing useful are refused before anything runs: a
    text stage on WARC input with no `extract` before it (it would see empty text), and a
    file the config names (model, word or domain lists) that the driver cannot open."""
    from pipeline.config import PRE_EXTRACT

    if input_fmt == "warc":
        for stage in cfg.stages:
            if stage.name == "extract":
                break
            if stage.name not in PRE_EXTRACT:
                raise UsageError(f"config {cfg.name!r}: stage {stage.name} reads text, but WARC input has none "
                                 f"before `extract`: add `extract` before it, or give a text dataset as --input")
    from apache_beam.io.filesystems import FileSystems

    for stage in cfg.stages:
        for f in dataclasses.fields(stage):
            value = getattr(stage, f.name)
            if not (f.name == "model" or f.name.endswith("_lists")) or not isinstance(value, (str, tuple)):
                continue
            for path in (value,) if isinstance(value, str) else value:
                try:
                    FileSystems.open(path).close()
                except Exception as exc:  # noqa: BLE001 - missing file, no credentials, bad scheme
                    raise UsageError(f"config {cfg.name!r}: {stage.name}.{f.name}: cannot open {path!r} "
                                     f"({type(exc).__name__}: {str(exc)[:200]})") from None


def resolve_inputs(patterns: Sequence[str]) -> tuple[tuple[str, ...], str]:
    from apache_beam.io.filesystems import FileSystems

    from pipeline.documents import input_format

    paths: list[str] = []
    for pattern in patterns:
        if "://" in pattern:
            # Remote patterns are expanded inside the pipeline, on the workers' credentials.
            paths.append(pattern)
            continue
        if os.path.isdir(pattern):  # a folder: the input files in it and below it
            found = sorted(os.path.join(d, f) for d, _, files in os.walk(pattern) for f in files
                           if input_format(f) is not None)
            if not found:
                raise UsageError(f"--input {pattern!r} is a folder with no .warc[.gz], .parquet or .jsonl[.gz] file")
            paths += found
            continue
        try:
            matched = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"cannot list --input {pattern!r}: {exc}") from None
        if not matched:
            raise UsageError(f"--input {pattern!r} matches no file")
        paths += sorted(matched)
    formats = {input_format(p) for p in paths}
    if None in formats:
        odd = [p for p in paths if input_format(p) is None][:3]
        raise UsageError(f"unknown input type (want .warc[.gz], .parquet, .jsonl[.gz]): {odd}")
    if len(formats) > 1:
        raise UsageError(f"mixed input types {sorted(formats)}: run WARC and text inputs separately")
    return tuple(dict.fromkeys(paths)), formats.pop()


def prepare_output(output: str, overwrite: bool) -> None:
    """Refuse a non-empty --output unless --overwrite; then remove an earlier run's outputs.

    Only our own outputs are removed (documents/, rejects/, stats.json, config.yaml,
    report.html), including temp files a killed run left in documents/ or rejects/.
    """
    from apache_beam.io.filesystems import FileSystems

    from pipeline.write import join

    try:
        present = FileSystems.match([join(output, "*")])[0].metadata_list
    except Exception:  # noqa: BLE001 - a directory that does not exist yet
        present = []
    if present and not overwrite:
        raise UsageError(f"{output} is not empty ({present[0].path}); pass --overwrite to replace an "
                         "earlier run's outputs there, or choose another --output")
    for name in ("documents", "rejects", "stats.json", "config.yaml", "report.html"):
        path = join(output, name)
        if not FileSystems.exists(path):
            continue
        if name in ("documents", "rejects"):
            inside = FileSystems.match([join(path, "*")])[0].metadata_list
            if inside:
                FileSystems.delete([m.path for m in inside])
        FileSystems.delete([path])


def run_header(cfg, inputs: Sequence[str], input_fmt: str, runner: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    versions = {"webrefine": version(), "python": platform.python_version()}
    for pkg in ("apache-beam", "trafilatura", "fastwarc", "fasttext-predict", "datasketch", "pyarrow"):
        try:
            versions[pkg] = v(pkg)
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
        if hasattr(stage, "fingerprint"):  # signatures are tied to their normaliser (SPEC P2)
            header[f"{stage.name}_fingerprint"] = stage.fingerprint()
        if stage.name == "language":
            from filters.language import model_fingerprint

            header["language_model"] = {"path": stage.model_path(), "sha256": model_fingerprint(stage.model_path())}
    return header


def runs_in_this_process(beam_args: Sequence[str]) -> bool:
    """True for the default local run: DirectRunner, in-process, so one worker."""
    flags = " ".join(beam_args)
    return not ("multi_processing" in flags or ("--runner" in flags and "directrunner" not in flags.lower()))


# One in-process worker feeds about this many extraction helpers before it becomes the
# bottleneck itself (16-core device: 1 worker x 16 helpers 202 responses/s, 8 x 2 371).
AUTO_PROCESSES_MAX = 8


def resolve_auto_processes(cfg, beam_args: Sequence[str]):
    """``extract: {processes: 0}`` (the default): the machine's cores, up to
    AUTO_PROCESSES_MAX, on an in-process run; 1 where the runner starts a worker per core."""
    def is_auto(stage) -> bool:
        return stage.name == "extract" and stage.processes == 0

    if not any(is_auto(s) for s in cfg.stages):
        return cfg
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(cores, AUTO_PROCESSES_MAX) if runs_in_this_process(beam_args) else 1
    stages = tuple(dataclasses.replace(s, processes=n) if is_auto(s) else s for s in cfg.stages)
    return dataclasses.replace(cfg, stages=stages)


def prestart_extraction(cfg, inputs: Sequence[str], beam_args: list[str]) -> None:
    """On an in-process local run over WARC files, start the extractor's helper processes
    now, so they import trafilatura while this process imports Beam and builds the graph."""
    if not runs_in_this_process(beam_args):
        return  # the stages run in other processes
    if not all(p.lower().endswith((".warc", ".warc.gz", ".arc.gz")) for p in inputs):
        return  # text input: no extraction
    from filters.extract_pool import prestart

    for stage in cfg.stages:
        if stage.name == "extract" and stage.isolation == "process":
            prestart(stage.options(), stage.helpers, stage.speedup)


def direct_runner(options):
    """The engine behind Beam's DirectRunner for a batch job, without the detour before it.

    Since Beam 2.6x the DirectRunner first tries Prism: it downloads a Go binary from GitHub
    on first use and runs the job there. Offline that fails after a DNS lookup, costs about
    0.3 s and leaves a /tmp/beam-temp* directory per run; online it puts the job on an
    engine this project does not test. Either way it then falls back to the FnApiRunner,
    which we start directly, as the DirectRunner does (with the options as provision info).
    ``--runner PrismRunner`` still selects Prism on purpose.
    """
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    info = beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(info))


def run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipeline.config import ConfigError, load_config

    check_beam_flags(beam_args)
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

    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions

    from pipeline.graph import RunPlan, build
    from pipeline.progress import ProgressPrinter
    from pipeline.stages import install_opener
    from pipeline.stats import check_invariant
    from pipeline.write import join, remove_temp_leftovers, write_yaml
    inputs, fmt = resolve_inputs(args.input or [SAMPLE])
    install_opener()  # the run header and the checks read config files through Beam's FileSystems
    check_config_fits(cfg, fmt)
    options = PipelineOptions(beam_args)
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    local = runner.lower() in LOCAL_RUNNERS
    dry_run = options.view_as(TestOptions).dry_run  # build and validate the job only
    fanout = args.fanout if args.fanout != "auto" else ("files" if local else "pages")
    if not dry_run:
        prepare_output(args.output, args.overwrite)
        write_yaml(join(args.output, "config.yaml"), cfg.to_dict())
    progress_dir = tempfile.mkdtemp(prefix="webrefine-progress-") if local and not args.no_progress else None
    plan = RunPlan(inputs=inputs, input_format=fmt, output=args.output, config=runtime_cfg,
                   header=run_header(cfg, inputs, fmt, runner), fanout=fanout, progress_dir=progress_dir)
    print(f"webrefine: {len(inputs)} {fmt} file(s) → {args.output} (config {cfg.name}, {runner})", file=sys.stderr)
    try:
        direct = runner.lower() in ("directrunner", "direct") and not options.view_as(StandardOptions).streaming
        p = beam.Pipeline(runner=direct_runner(options) if direct else None, options=options)
        build(p, plan)
        if dry_run and runner.lower() not in ("dataflowrunner", "dataflow"):
            # Only Dataflow honours --dry_run (it validates the job and submits nothing); the
            # other runners would run the job. Here the graph is built and translated, no more.
            p.to_runner_api()
            print("webrefine: dry run: the job was built and validated; nothing ran, nothing was written",
                  file=sys.stderr)
            return EXIT_OK
        local_inputs = all("://" not in path for path in inputs)
        printer = ProgressPrinter(progress_dir, files_total=len(inputs) if local_inputs else 0,
                                  bytes_total=sum(map(os.path.getsize, inputs)) if local_inputs else 0,
                                  unit="responses" if fmt == "warc" else "rows") if progress_dir else None
        with printer or contextlib.nullcontext():
            result = p.run()
            try:
                result.wait_until_finish()
            except KeyboardInterrupt:
                # A remote runner (Flink, Dataflow) would go on with the job without us.
                with contextlib.suppress(Exception):
                    result.cancel()
                raise
    except KeyboardInterrupt:
        # Ctrl-C: remove what this run wrote (config.yaml, temp shards), so running the same
        # command again is not refused as writing over an earlier run.
        if not dry_run:
            prepare_output(args.output, overwrite=True)
        print(f"webrefine: interrupted; the partial outputs in {args.output} were removed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - report, do not dump a Beam traceback on users
        print(f"webrefine: the pipeline failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if progress_dir:
            shutil.rmtree(progress_dir, ignore_errors=True)
    if dry_run:
        print("webrefine: dry run: the job was built and validated; nothing ran, nothing was written",
              file=sys.stderr)
        return EXIT_OK
    stats_path = join(args.output, "stats.json")
    remove_temp_leftovers(args.output)
    if not FileSystems.exists(stats_path):  # e.g. a remote runner launched without waiting
        print(f"webrefine: submitted; stats will be written to {stats_path}", file=sys.stderr)
        return EXIT_OK
    with FileSystems.open(stats_path) as fh:
        stats = json.load(fh)
    print_summary(stats)
    print(f"documents: {join(args.output, 'documents')}  stats: {stats_path}  report: "
          f"{join(args.output, 'report.html')}")
    units, accounted = check_invariant(stats)
    if units != accounted:
        print(f"webrefine: warning: {units} input records but {accounted} accounted for", file=sys.stderr)
    if stats["errors"] or stats["file_errors"]:
        return EXIT_INPUT_ERRORS
    return EXIT_OK


def print_summary(stats: dict[str, Any]) -> None:
    inp = stats["input"]
    units = inp.get("responses", inp.get("rows", 0))
    print(f"input: {inp.get('files', 0)} files, {units:,} {'responses' if 'responses' in inp else 'rows'}")
    print(f"{'stage':20s} {'in':>9s} {'out':>9s} {'dropped':>9s}  top reasons")
    for st in stats["stages"]:
        dropped = sum(st["dropped"].values())
        top = ", ".join(f"{r}={n}" for r, n in sorted(st["dropped"].items(), key=lambda x: -x[1])[:3])
        print(f"{st['name']:20s} {st['in']:>9,} {st['out']:>9,} {dropped:>9,}  {top}")
    kept = stats["output"]["documents"]
    share = f" ({kept / units:.1%} of input)" if units else ""
    print(f"output: {kept:,} documents{share}")
    if stats["errors"] or stats["file_errors"]:
        print(f"errors: {stats['errors']}  file errors: {stats['file_errors']}")


if __name__ == "__main__":
    sys.exit(main())
