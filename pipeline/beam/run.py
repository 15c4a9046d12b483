"""Running the job: inputs resolved, the output prepared, the graph built and run on the
runner the Beam flags name (``webrefine run``, after ``pipeline/cli.py`` parsed our flags)."""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from typing import Any, Callable, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions

from webrefine.pipeline.beam.graph import RunPlan, build
from webrefine.pipeline.beam.private_api import direct_runner
from webrefine.pipeline.beam.writers import join, remove_temp_leftovers, write_yaml
from webrefine.pipeline.cli import EXIT_FAILED, EXIT_OK, LOCAL_RUNNERS, SAMPLE, UsageError
from webrefine.pipeline.io.text_datasets import input_format
from webrefine.pipeline.progress import ProgressPrinter


def resolve_inputs(patterns: Sequence[str]) -> tuple[tuple[str, ...], str]:
    paths: list[str] = []
    for pattern in patterns:
        if "://" in pattern:
            # Remote patterns are expanded inside the pipeline, on the workers' credentials.
            paths.append(pattern)
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


def run_job(args: argparse.Namespace, beam_args: list[str], cfg, runtime_cfg,
            run_header: Callable[..., dict[str, Any]]) -> tuple[int, dict[str, Any] | None]:
    """Run the job; (exit status, stats.json) when it ran here, (status, None) otherwise."""
    inputs, fmt = resolve_inputs(args.input or [SAMPLE])
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
        with ProgressPrinter(progress_dir) if progress_dir else contextlib.nullcontext():
            p.run().wait_until_finish()
    except Exception as exc:  # noqa: BLE001 - report, do not dump a Beam traceback on users
        print(f"webrefine: the pipeline failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED, None
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
    with FileSystems.open(stats_path) as fh:
        return EXIT_OK, json.load(fh)
