"""Opening user-supplied resources (word lists, models) by path, local or remote.

Filters stay free of Beam: ``pipeline/`` installs Beam's FileSystems opener with
``set_opener`` in each worker, so ``gs://`` and ``s3://`` paths work there; plain Python
(tests, the benchmark loop) opens local files.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import BinaryIO, Callable

_opener: Callable[[str], BinaryIO] = lambda path: open(path, "rb")  # noqa: E731


def set_opener(opener: Callable[[str], BinaryIO]) -> None:
    global _opener
    _opener = opener


def read_bytes(path: str) -> bytes:
    with _opener(path) as fh:
        return fh.read()


def read_lines(path: str) -> list[str]:
    """Non-empty, non-comment (#) lines of a UTF-8 text file, stripped."""
    text = read_bytes(path).decode("utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def local_copy(path: str) -> str:
    """A local file path for ``path``: itself if local, else a cached copy in the temp dir.

    Some libraries (fastText) only load from a local file.
    """
    if "://" not in path:
        return path
    name = hashlib.sha1(path.encode()).hexdigest()[:16] + "-" + os.path.basename(path)
    target = os.path.join(tempfile.gettempdir(), "webrefine-resources", name)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + f".{os.getpid()}.part"
        with open(tmp, "wb") as out:
            out.write(read_bytes(path))
        os.replace(tmp, target)
    return target
