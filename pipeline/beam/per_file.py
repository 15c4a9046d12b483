"""The per-document phase, one whole input file at a time, committed to the work area.

``ProcessFileFn`` takes an input path: if the work area holds that file's completion marker,
it replays the saved results (the file is not read, nothing is extracted); otherwise it
reads the file, runs every per-document stage (``pipeline/document_phase.py``), writes the
results under a temporary name as they come, renames them when the file is done and writes
the marker last (``pipeline/workarea.py`` has the layout). A file is done when its last
document is through the phase: its last pages may still be with the extraction helpers while
the next file of the bundle is read, and it is then committed during that file, or at the
bundle's end (``finish_bundle``). Either way it emits the same
things: a DocRef for each kept document (main output; dedup/refs.py: its text stays here, in
the work area, for the dedup stages and the last pass to read back by file) or, in a run
without such stages, the Document itself, Rejections
(``rejected``) and one Tally for the file (``tally``), so deduplication and stats.json see every
file alike.

Everything goes through Beam's FileSystems (local, gs://, s3://). A bundle the runner
retries writes the same results again under the same names, or replays them if its first
attempt got as far as the marker: either way each file is counted once.
"""
from __future__ import annotations

import gzip
import json
import uuid
import zlib
from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from webrefine.dedup.refs import ref_of
from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.document import Document, Rejection
from webrefine.filters.stage import Stage
from webrefine.pipeline import progress
from webrefine.pipeline.beam.dofns import METRICS_NAMESPACE, REJECTED, TALLY, freeze_heap, install_opener, \
    open_beam_file
from webrefine.pipeline.config import OutputConfig, ReadConfig
from webrefine.pipeline.document_phase import FILE_DONE, DocumentPhase, FileWork, StageTimer
from webrefine.pipeline.io.text_datasets import CARRIED, jsonl_rows, parquet_rows, read_documents
from webrefine.pipeline.io.warc import read_warc
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.workarea import (
    MARKER_SUFFIX, RESULTS_SUFFIX, WORK_DIR, document_from_json, document_json, file_key, rejection_from_json,
    rejection_json, tally_from_json, tally_json,
)

CHUNK_DOCS = 1000  # documents per gzip member of a results file: what one dedup read decompresses
# The results are written at gzip level 1, not Beam's default 6: on documents' JSON it costs
# a sixth of the CPU (0.04 vs 0.2 ms per 3.5 KB document) for files ~18% larger, read back
# only by --resume.


def work_dir(output: str) -> str:
    return FileSystems.join(output, WORK_DIR)


def results_path(work: str, key: str) -> str:
    return FileSystems.join(work, key + RESULTS_SUFFIX)


def _results_items(path: str) -> Iterator[dict[str, Any]]:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw, \
            gzip.GzipFile(fileobj=raw, mode="rb") as fh:  # every member, in order
        for line in fh:
            yield json.loads(line)


class _Sink:
    """A raw file handle that counts the bytes written to it (member offsets)."""

    def __init__(self, raw) -> None:
        self.raw, self.size = raw, 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


class ResultsWriter:
    """One input file's results lines as a series of gzip members, a new member every
    ``CHUNK_DOCS`` documents: a reader seeks to the member holding a row (``documents_at``)
    instead of decompressing the whole file, so the dedup steps that need texts read any
    file in parallel chunks. The concatenation is an ordinary gzip file."""

    def __init__(self, raw) -> None:
        self.sink, self.gz, self.docs, self.members = _Sink(raw), None, 0, []

    def _member(self):
        if self.gz is None:
            self.gz = gzip.GzipFile(fileobj=self.sink, mode="wb", compresslevel=1, mtime=0)
        return self.gz

    def doc(self, line: bytes) -> int:
        """Writes a document's line; returns the offset of the member that holds it."""
        if self.docs % CHUNK_DOCS == 0:
            self.close()
            self.members.append(self.sink.size)
        self._member().write(line)
        self.docs += 1
        return self.members[-1]

    def other(self, line: bytes) -> None:
        self._member().write(line)

    def close(self) -> None:
        if self.gz is not None:
            self.gz.close()  # the member's trailer; the raw handle stays open
            self.gz = None


def documents_at(work: str, key: str, offset: int, rows) -> Iterator[tuple[int, Document]]:
    """(row, Document) for each row in ``rows`` (row numbers, all in the member that starts
    at ``offset``: ``ResultsWriter``), in row order; other lines are skipped unparsed."""
    if not rows:
        return
    row = min(rows) // CHUNK_DOCS * CHUNK_DOCS  # the member's first row
    path = results_path(work, key)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        fh.seek(offset)
        inflate, data = zlib.decompressobj(wbits=31), []
        while not inflate.eof:
            chunk = fh.read(1 << 20)
            if not chunk:
                raise RuntimeError(f"{path}: the member at byte {offset} is cut short: the work area is damaged")
            data.append(inflate.decompress(chunk))
    for line in b"".join(data).split(b"\n"):
        if line.startswith(b'{"doc"'):
            if row in rows:
                yield row, document_from_json(json.loads(line)["doc"])
            row += 1


def committed_files(output: str) -> int:
    """How many input files the work area holds committed results for (its markers; listed,
    not opened: one listing however many files)."""
    try:
        return len(FileSystems.match([FileSystems.join(work_dir(output), "*" + MARKER_SUFFIX)])[0].metadata_list)
    except Exception:  # noqa: BLE001 - no work area
        return 0


def remove_work_area(output: str) -> None:
    """Delete OUT/_work and everything in it."""
    work = work_dir(output)
    try:
        inside = [m.path for m in FileSystems.match([FileSystems.join(work, "*")])[0].metadata_list]
    except Exception:  # noqa: BLE001 - nothing there
        inside = []
    if inside:
        FileSystems.delete(inside)
    if FileSystems.exists(work):
        FileSystems.delete([work])


def write_atomically(path: str, lines: Iterable[bytes]) -> None:
    """Write ``path`` under a temporary name, then rename it: readers see all of it or nothing."""
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with FileSystems.create(tmp, mime_type="application/json",
                            compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        for line in lines:
            fh.write(line)
    FileSystems.rename([tmp], [path])


def _line(kind: str, value: Any) -> bytes:
    return json.dumps({kind: value}, ensure_ascii=False, allow_nan=True).encode("utf-8") + b"\n"


class _OpenFile:
    """A file being processed: where its results go (written under a temporary name as they
    come), what was written, and its share of the document phase."""

    def __init__(self, path: str, key: str, results: str, marker: str) -> None:
        self.path, self.key, self.results, self.marker = path, key, results, marker
        self.work = FileWork(Tally(), Tally())
        self.counts = {"documents": 0, "rejections": 0}
        self.tmp = f"{results}.{uuid.uuid4().hex}.tmp"
        self.raw = FileSystems.create(self.tmp, mime_type="application/octet-stream",
                                      compression_type=CompressionTypes.UNCOMPRESSED)
        self.writer = ResultsWriter(self.raw)

    def close(self) -> None:
        self.writer.close()
        self.raw.close()

    def abandon(self) -> None:
        """Close and remove the temporary results of a file that will not be committed."""
        try:
            self.raw.close()
            FileSystems.delete([self.tmp])
        except Exception:  # noqa: BLE001 - a leftover temporary file is harmless (never read)
            pass


class ProcessFileFn(beam.DoFn):
    """Input path → its kept Documents, Rejections and Tally; committed per file (module doc)."""

    def __init__(self, input_format: str, read: ReadConfig, stages: tuple[Stage, ...], output: OutputConfig,
                 work: str, progress_dir: str | None = None, refs: bool = True, text_key=None) -> None:
        """``refs``: emit DocRefs (for the dedup stages that compare them), else the Documents;
        ``text_key``: exact_dedup's key function for the references (None without that stage)."""
        self.input_format, self.read, self.stages, self.output = input_format, read, stages, output
        self.work, self.progress_dir, self.refs, self.text_key = work, progress_dir, refs, text_key

    def setup(self) -> None:
        install_opener()
        self.phase = DocumentPhase(self.stages, self.output.reject_text_chars, self.output.rejects_per_reason,
                                   self.output.tokenizer)
        self.phase.setup()
        self.tokens = tokenizers.get(self.output.tokenizer)
        self.open: dict[FileWork, _OpenFile] = {}  # files read but not committed yet
        freeze_heap()

    def teardown(self) -> None:
        if getattr(self, "phase", None) is not None:  # setup may have failed before it
            self.phase.teardown()

    def process(self, path: str) -> Iterator[Any]:
        key = file_key(path)
        results = results_path(self.work, key)
        marker = FileSystems.join(self.work, key + MARKER_SUFFIX)
        if FileSystems.exists(marker):
            yield from self._replay(path, key, results, marker)
            self._file_done(path)
        else:
            yield from self._process(path, key, results, marker)  # the file is done when committed

    def _documents(self, path: str, tally: Tally) -> Iterator[Document]:
        """The file's documents, read as they are needed; progress ticks per record."""
        tick = (lambda n=1: progress.tick(self.progress_dir, "responses", n)) if self.progress_dir else None
        if self.input_format == "warc":
            seen = 0
            for doc in read_warc(lambda: open_beam_file(path), path, self.read, tally):
                if tick:
                    now = tally.counts["input.responses"]
                    tick(now - seen)
                    seen = now
                yield doc
            if tick:
                tick(tally.counts["input.responses"] - seen)
            return
        if self.input_format == "parquet":
            rows = parquet_rows(lambda: FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED),
                                (*self.read.columns().values(), *CARRIED))
        else:
            rows = jsonl_rows(lambda: FileSystems.open(path))  # AUTO: .gz is decompressed
        yield from read_documents(rows, path, tally, tick, self.read.columns())

    def _process(self, path: str, key: str, results: str, marker: str) -> Iterator[Any]:
        """Read the file and put its documents through the phase, emitting as it goes (a failed
        bundle's output is discarded by the runner) while its results are written. The file is
        committed once its last document is through (``_commit``): often while the next file is
        read, its last pages being extracted meanwhile (``DocumentPhase``), or at the bundle's end."""
        out = _OpenFile(path, key, results, marker)
        self.open[out.work] = out
        docs = StageTimer("read").iterate(out.work.tally, self._documents(path, out.work.tally))
        for work, item in self.phase.feed(docs, out.work):
            yield from self._emit(work, item)
        for work, item in self.phase.end(out.work):
            yield from self._emit(work, item)

    def start_bundle(self) -> None:
        # Files of a bundle that failed half-way are not this one's: their pages are dropped.
        self.phase.reset()
        for out in self.open.values():
            out.abandon()
        self.open = {}

    def finish_bundle(self) -> Iterator[Any]:
        # The files whose last pages are still with the helpers; what is emitted here needs
        # its window (the paths are in the global window).
        for work, item in self.phase.drain():
            for value in self._emit(work, item):
                if isinstance(value, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(value.tag, GlobalWindows.windowed_value(value.value))
                else:
                    yield GlobalWindows.windowed_value(value)
        if self.open:  # a file the phase lost track of would never be committed: never silently
            raise RuntimeError(f"files left uncommitted at the bundle's end: {[o.path for o in self.open.values()]}")

    def _emit(self, work: FileWork, item: Any) -> Iterator[Any]:
        """One thing the phase gave for a file: written to its results and emitted, or its end."""
        out = self.open[work]
        if item is FILE_DONE:
            del self.open[work]
            yield from self._commit(out)
        elif isinstance(item, Rejection):
            yield self._rejection(out, item)
        else:
            item = self.tokens.counted(item)  # every dedup stage's tokens_in needs it: counted once
            offset = out.writer.doc(_line("doc", document_json(item)))
            yield ref_of(item, out.key, out.counts["documents"], offset, self.text_key) if self.refs else item
            out.counts["documents"] += 1

    @staticmethod
    def _rejection(out: "_OpenFile", item: Rejection) -> beam.pvalue.TaggedOutput:
        """A rejection written to the file's results; what to emit for it."""
        out.counts["rejections"] += 1
        out.writer.other(_line("rejection", rejection_json(item)))
        return beam.pvalue.TaggedOutput(REJECTED, item)

    def _commit(self, out: "_OpenFile") -> Iterator[Any]:
        tally, rejects = out.work.tally, out.work.rejects
        for reason in sorted(rejects.samples):  # the file's bottom-k sample per reason
            for item in rejects.sample_items(reason):
                yield self._rejection(out, item)
        out.writer.other(_line("tally", tally_json(tally)))
        out.close()
        FileSystems.rename([out.tmp], [out.results])
        done = {"input": out.path, "results": out.results.rsplit("/", 1)[-1], **out.counts,
                "members": out.writer.members,
                "records": tally.counts.get("input.responses", tally.counts.get("input.rows", 0))}
        write_atomically(out.marker, [json.dumps(done).encode("utf-8")])  # last: the file is complete
        tally.count("resume.files_processed")
        yield from self._emit_tally(tally)
        self._file_done(out.path)

    def _file_done(self, path: str) -> None:
        if self.progress_dir:
            progress.file_done(self.progress_dir, path)
            progress.flush(self.progress_dir)

    def _replay(self, path: str, key: str, results: str, marker: str) -> Iterator[Any]:
        tally, row = None, 0
        with FileSystems.open(marker, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            members = json.loads(fh.read())["members"]
        for item in _results_items(results):
            if "doc" in item:
                doc = self.tokens.counted(document_from_json(item["doc"]))
                yield ref_of(doc, key, row, members[row // CHUNK_DOCS], self.text_key) if self.refs else doc
                row += 1
            elif "rejection" in item:
                yield beam.pvalue.TaggedOutput(REJECTED, rejection_from_json(item["rejection"]))
            else:
                tally = tally_from_json(item["tally"])
        if tally is None:
            raise RuntimeError(f"the work area's results for {path} ({results}) end without their tally: "
                               "the work area is damaged; run again with --overwrite")
        if self.progress_dir:
            progress.tick(self.progress_dir, "responses",
                          tally.counts.get("input.responses", tally.counts.get("input.rows", 0)))
            progress.tick(self.progress_dir, "resumed")
        tally.count("resume.files_resumed")
        yield from self._emit_tally(tally)

    def _emit_tally(self, tally: Tally) -> Iterator[Any]:
        for key, n in tally.counts.items():
            if isinstance(n, int):  # stage times are floats: stats.json only
                beam.metrics.Metrics.counter(METRICS_NAMESPACE, key).inc(n)
        yield beam.pvalue.TaggedOutput(TALLY, tally)
