"""The read steps: file patterns → file paths → Documents, through Beam's FileSystems
(local, gs://, s3://). The readers themselves are Beam-free (``pipeline/io``)."""
from __future__ import annotations

from typing import Iterable

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from webrefine.filters.document import Document
from webrefine.pipeline import progress
from webrefine.pipeline.beam.dofns import TallyingDoFn, install_opener, open_beam_file
from webrefine.pipeline.config import ReadConfig
from webrefine.pipeline.io.text_datasets import CARRIED, COLUMNS, jsonl_rows, parquet_rows, read_documents
from webrefine.pipeline.io.warc import read_warc


def expand_pattern(pattern: str) -> list[str]:
    """A glob (local, gs://, s3://) → the files it matches, on the worker's credentials."""
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


class ReadWarcFn(TallyingDoFn):
    """WARC path → Documents (HTML still undecoded into text)."""

    def __init__(self, cfg: ReadConfig, progress_dir: str | None = None) -> None:
        super().__init__(progress_dir)
        self.cfg = cfg

    def setup(self) -> None:
        install_opener()

    def process(self, path: str) -> Iterable[Document]:
        seen = self.tally.counts["input.responses"]
        for doc in read_warc(lambda: open_beam_file(path), path, self.cfg, self.tally):
            if self.progress_dir:
                now = self.tally.counts["input.responses"]
                progress.tick(self.progress_dir, "responses", now - seen)
                seen = now
            yield doc
        if self.progress_dir:
            progress.tick(self.progress_dir, "responses", self.tally.counts["input.responses"] - seen)
            progress.file_done(self.progress_dir, path)


class ReadDocumentsFn(TallyingDoFn):
    """Parquet or JSONL path → Documents (already extracted text)."""

    def __init__(self, fmt: str, progress_dir: str | None = None, columns: dict[str, str] | None = None) -> None:
        super().__init__(progress_dir)
        self.fmt = fmt
        self.columns = columns or {name: name for name in COLUMNS}

    def setup(self) -> None:
        install_opener()

    def process(self, path: str) -> Iterable[Document]:
        if self.fmt == "parquet":
            rows = parquet_rows(lambda: FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED),
                                (*self.columns.values(), *CARRIED))
        else:
            rows = jsonl_rows(lambda: FileSystems.open(path))  # AUTO: .gz is decompressed
        tick = (lambda: progress.tick(self.progress_dir, "responses")) if self.progress_dir else None
        yield from read_documents(rows, path, self.tally, tick, self.columns)
        if self.progress_dir:
            progress.file_done(self.progress_dir, path)
