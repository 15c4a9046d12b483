"""Input patterns → input files, through Beam's FileSystems (local, gs://, s3://). The files
are read by ``per_file.py``, with the Beam-free readers of ``pipeline/io``."""
from __future__ import annotations

from apache_beam.io.filesystems import FileSystems


def expand_pattern(pattern: str) -> list[str]:
    """A glob (local, gs://, s3://) → the files it matches, on the worker's credentials."""
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
