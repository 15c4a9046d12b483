"""Running the job: inputs resolved, the output prepared, the graph built and run on the
runner the Beam flags name (``webrefine run``, after ``pipeline/cli.py`` parsed our flags)."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import os
import shutil
import sys
import tempfile
from typing import Any, Callable, Sequence

import apache_beam as beam
import yaml
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions

from webrefine.filters import tokenizer as tokenizers
from webrefine.pipeline.beam.dofns import install_opener
from webrefine.pipeline.beam.dedup_index import load_earlier_runs, write_manifest
from webrefine.pipeline.beam.graph import RunPlan, build, write_stats_files
from webrefine.pipeline.beam.per_file import committed_files, remove_work_area, work_dir
from webrefine.pipeline.beam.private_api import direct_runner, step_seconds
from webrefine.pipeline.beam.writers import join, read_text, remove_temp_leftovers, write_json, write_yaml
from webrefine.pipeline.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, LOCAL_RUNNERS, SAMPLE, UsageError, version
from webrefine.pipeline.io.text_datasets import input_format
from webrefine.pipeline.progress import ProgressPrinter
from webrefine.pipeline.stats.build import check_invariant, lost_messages
from webrefine.pipeline.workarea import MANIFEST, config_mismatch, manifest, manifest_mismatch


OUR_FLAGS = ("--input", "--output", "--config", "--overwrite", "--resume", "--keep-work", "--no-progress",
             "--dedup-against")
OUTPUTS = ("documents", "rejects", "index", "stats.json", "report.html")  # what a finished run adds to config.yaml
FOLDERS = ("documents", "rejects", "index")


def check_beam_flags(beam_args: Sequence[str]) -> None:
    """Every flag that is not ours must be one Beam defines: Beam itself only warns about
    the others and runs on, so `--inputs x` would curate the bundled sample and exit 0."""
    options = PipelineOptions(list(beam_args))
    known = options.get_all_options(retain_unknown_options=False)
    unknown = [k for k in options.get_all_options(retain_unknown_options=True) if k not in known]
    if unknown:
        flag = "--" + unknown[0]
        close = difflib.get_close_matches(flag, [*OUR_FLAGS, *("--" + k for k in known)], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown flag {flag}{hint}: not a webrefine flag, and not one Beam defines")
    timed = [e for e in known.get("experiments") or () if e.startswith("data_buffer_time_limit_ms=")]
    if timed and timed[0] != "data_buffer_time_limit_ms=0":
        # The Python workers' streams would then flush on a timer, racing with the writes that
        # fill them: data lost without an error (pipeline/beam/private_api.py no_timed_flush).
        raise UsageError(f"--experiments={timed[0]}: Beam's timed flushing of data streams loses data written "
                         "during a flush; leave it off (README, Deduplication at scale)")


def check_config_fits(cfg, input_fmt: str) -> None:
    """Configs that would run and keep nothing useful are refused before anything runs: a
    text stage on WARC input with no `extract` before it (it would see empty text), and a
    file the config names (model, word or domain lists) that the driver cannot open."""
    if input_fmt == "warc":
        for stage in cfg.stages:
            if stage.input == "html":  # extraction: text from here on
                break
            if stage.input == "text":
                raise UsageError(f"config {cfg.name!r}: stage {stage.name} reads text, but WARC input has none "
                                 f"before `extract`: add `extract` before it, or give a text dataset as --input")
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
    named = [("output.tokenizer", cfg.output.tokenizer)] + [
        (f"{s.name}.tokenizer", s.tokenizer) for s in cfg.stages if isinstance(getattr(s, "tokenizer", None), str)]
    for where, name in named:  # loaded once here: a tokenizer.json that is missing, or needs an extra
        try:
            tokenizers.get(name)
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"config {cfg.name!r}: {where}: cannot load tokenizer {name!r} "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from None


def resolve_inputs(patterns: Sequence[str]) -> tuple[tuple[str, ...], str]:
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


def _present(output: str) -> list:
    try:
        return FileSystems.match([join(output, "*")])[0].metadata_list
    except Exception:  # noqa: BLE001 - a directory that does not exist yet
        return []


def remove_outputs(output: str, names: Sequence[str]) -> None:
    """Remove our own outputs named ``names`` from ``output`` (documents/ and rejects/ with
    whatever is inside them, temp files of a killed run included)."""
    for name in names:
        path = join(output, name)
        if not FileSystems.exists(path):
            continue
        if name in FOLDERS:
            inside = FileSystems.match([join(path, "*")])[0].metadata_list
            if inside:
                FileSystems.delete([m.path for m in inside])
        FileSystems.delete([path])


def prepare_output(output: str, overwrite: bool) -> None:
    """Refuse a non-empty --output unless --overwrite; then remove an earlier run's outputs.

    Only our own outputs are removed (documents/, rejects/, stats.json, config.yaml,
    report.html, the work area _work/), including temp files a killed run left in
    documents/ or rejects/. An unfinished run is named, with the way to continue it.
    """
    present = _present(output)
    if present and not overwrite:
        done = committed_files(output)
        if done and not FileSystems.exists(join(output, "stats.json")):
            raise UsageError(f"{output} holds an unfinished run ({done} input file(s) done): pass --resume "
                             "to continue it, or --overwrite to start again")
        raise UsageError(f"{output} is not empty ({present[0].path}); pass --overwrite to replace an "
                         "earlier run's outputs there, or choose another --output")
    remove_outputs(output, (*OUTPUTS, "config.yaml"))
    remove_work_area(output)


def prepare_resume(output: str, cfg, current_manifest: dict[str, Any]) -> int:
    """Check that --output holds an unfinished run of this same job, and clear what its
    interrupted attempt left outside the work area. Returns how many files are done."""
    present = _present(output)
    if not present:
        print(f"webrefine: --resume: {output} holds no earlier run; starting from the first file", file=sys.stderr)
        return 0
    if FileSystems.exists(join(output, "stats.json")):
        raise UsageError(f"--resume: {output} holds a finished run (stats.json): nothing to resume; pass "
                         "--overwrite to run it again")
    config_path = join(output, "config.yaml")
    manifest_path = join(work_dir(output), MANIFEST)
    if FileSystems.exists(manifest_path) and not FileSystems.exists(config_path):
        raise UsageError(f"--resume: {config_path} is missing, so the earlier run's config is unknown; pass "
                         "--overwrite to start again")
    if FileSystems.exists(config_path):
        saved = yaml.safe_load(read_text(config_path))
        diff = config_mismatch(saved, cfg.to_dict())
        if diff:
            raise UsageError(f"--resume: the config differs from the earlier run's ({config_path}): {diff}; "
                             "resume with the same config, or pass --overwrite to start again")
    if FileSystems.exists(manifest_path):
        why = manifest_mismatch(json.loads(read_text(manifest_path)), current_manifest)
        if why:
            raise UsageError(f"--resume: {output} holds another run: {why}; resume with the same inputs and "
                             "config, or pass --overwrite to start again")
    elif committed_files(output) or not FileSystems.exists(config_path):
        raise UsageError(f"--resume: {output} holds no run of webrefine's that can be resumed "
                         f"({present[0].path}); pass --overwrite or choose another --output")
    remove_outputs(output, OUTPUTS)  # the interrupted attempt's temp shards
    return committed_files(output)


def interrupted(exc: BaseException) -> bool:
    """Ctrl-C, also when Beam re-raised it inside a step as a RuntimeError("KeyboardInterrupt
    [while running ...]")."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt) or str(exc).startswith("KeyboardInterrupt"):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def run_job(args: argparse.Namespace, beam_args: list[str], cfg, runtime_cfg,
            run_header: Callable[..., dict[str, Any]]) -> tuple[int, dict[str, Any] | None]:
    """Run the job; (exit status, stats.json) when it ran here, (status, None) otherwise."""
    check_beam_flags(beam_args)
    inputs, fmt = resolve_inputs(args.input or [SAMPLE])
    install_opener()  # the run header and the checks read config files through Beam's FileSystems
    check_config_fits(cfg, fmt)
    try:  # every earlier run's index: present, complete, made with this config's dedup parameters
        earlier_runs = load_earlier_runs(getattr(args, "dedup_against", None) or (), cfg, args.output)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = PipelineOptions(beam_args)
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    local = runner.lower() in LOCAL_RUNNERS
    dry_run = options.view_as(TestOptions).dry_run  # build and validate the job only
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in --output and --overwrite replaces it: pass one of them")
    local_inputs = all("://" not in path for path in inputs)
    sizes = {path: os.path.getsize(path) for path in inputs} if local_inputs else {}
    current = manifest(inputs, sizes, fmt, cfg.fingerprint(), version())
    resumed = 0
    if not dry_run:
        try:
            if args.resume:
                resumed = prepare_resume(args.output, cfg, current)
            else:
                prepare_output(args.output, args.overwrite)
            write_yaml(join(args.output, "config.yaml"), cfg.to_dict())
            write_json(join(work_dir(args.output), MANIFEST), current)
        except KeyboardInterrupt:
            if args.resume:  # what the earlier run did is kept
                print("webrefine: interrupted", file=sys.stderr)
            else:  # nothing ran yet: leave --output as a new run finds it
                prepare_output(args.output, overwrite=True)
                print(f"webrefine: interrupted; the partial outputs in {args.output} were removed", file=sys.stderr)
            return EXIT_INTERRUPTED, None
    progress_dir = tempfile.mkdtemp(prefix="webrefine-progress-") if local and not args.no_progress else None
    try:
        header = run_header(cfg, inputs, fmt, runner)
        if earlier_runs:
            header["dedup_against"] = [{"path": r.path, "run_id": r.run_id, "documents": r.documents}
                                       for r in earlier_runs]
            print(f"webrefine: deduplicating against {len(earlier_runs)} earlier run(s), "
                  f"{sum(r.documents for r in earlier_runs):,} kept documents", file=sys.stderr)
        plan = RunPlan(inputs=inputs, input_format=fmt, output=args.output, config=runtime_cfg,
                       header=header, progress_dir=progress_dir, earlier=earlier_runs)
        if resumed:
            print(f"webrefine: resuming: {resumed} of {len(inputs)} input file(s) are done and will not be read "
                  "again", file=sys.stderr)
        print(f"webrefine: {len(inputs)} {fmt} file(s) → {args.output} (config {cfg.name}, {runner})",
              file=sys.stderr)
        direct = runner.lower() in ("directrunner", "direct") and not options.view_as(StandardOptions).streaming
        p = beam.Pipeline(runner=direct_runner(options) if direct else None, options=options)
        build(p, plan)
        if dry_run and runner.lower() not in ("dataflowrunner", "dataflow"):
            # Only Dataflow honours --dry_run (it validates the job and submits nothing); the
            # other runners would run the job. Here the graph is built and translated, no more.
            p.to_runner_api()
            print("webrefine: dry run: the job was built and validated; nothing ran, nothing was written",
                  file=sys.stderr)
            return EXIT_OK, None
        printer = ProgressPrinter(progress_dir, files_total=len(inputs) if local_inputs else 0,
                                  bytes_total=sum(sizes.values()),
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
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - report, do not dump a Beam traceback
        done = 0 if dry_run else committed_files(args.output)
        kept = (f"; {done} of {len(inputs)} input file(s) are done and kept in {work_dir(args.output)}: "
                "run the same command with --resume to continue")
        if not interrupted(exc):
            print(f"webrefine: the pipeline failed: {type(exc).__name__}: {exc}" + (kept if done else ""),
                  file=sys.stderr)
            return EXIT_FAILED, None
        # Ctrl-C: the files done so far are kept for --resume; the rest of this attempt
        # (temp shards) goes. With none done, nothing is worth keeping: the same command runs again.
        if dry_run:
            pass
        elif done:
            remove_outputs(args.output, OUTPUTS)
        else:
            prepare_output(args.output, overwrite=True)
        print("webrefine: interrupted" + (kept if done else f"; the partial outputs in {args.output} were removed"),
              file=sys.stderr)
        return EXIT_INTERRUPTED, None
    finally:
        if progress_dir:
            shutil.rmtree(progress_dir, ignore_errors=True)
    if dry_run:
        print("webrefine: dry run: the job was built and validated; nothing ran, nothing was written",
              file=sys.stderr)
        return EXIT_OK, None
    stats_path = join(args.output, "stats.json")
    remove_temp_leftovers(args.output)
    if not FileSystems.exists(stats_path):  # e.g. a remote runner launched without waiting
        print(f"webrefine: submitted; stats will be written to {stats_path}", file=sys.stderr)
        return EXIT_OK, None
    if not args.keep_work:  # the run is complete: the per-file results are in documents/ and stats.json
        remove_work_area(args.output)
    with FileSystems.open(stats_path) as fh:
        stats = json.load(fh)
    if add_dedup_times(stats, plan, step_seconds(result)):
        write_stats_files(stats, args.output)
    units, accounted = check_invariant(stats)
    if units == accounted and not lost_messages(stats):  # a lossy run's index would mislead later runs
        write_manifest(args.output, cfg, stats, version())
    return EXIT_OK, stats


def add_dedup_times(stats: dict[str, Any], plan: RunPlan, seconds: dict[str, float]) -> bool:
    """Put each dedup stage's time, as the runner sampled it over the stage's steps, into
    stats.json "timings" (``runner_s``); only where the runner reports step times (the
    DirectRunner does). The per-document stages' times are measured in the workers."""
    added = False
    for stage in plan.global_stages():
        prefix = f"Stages/Dedup[{stage.name}]/"
        total = sum(s for label, s in seconds.items() if label.startswith(prefix))
        if any(label.startswith(prefix) for label in seconds):
            stats.setdefault("timings", {})[stage.name] = {"runner_s": round(total, 3)}
            added = True
    return added
