"""Compact node ids and packed int64 arrays for the dedup stages' shuffles.

A node id is 63 bits of a 128-bit BLAKE2b of a tuple (the survivor rank); the other 63 bits
are a ``check``. Node ids key the shuffles (9 bytes in Beam's coder instead of a rank of
~100 bytes); decisions are matched to documents by their full rank, so two documents whose
ids collide (odds ~n²/2⁶⁴: ~3e-8 at a million documents) never share a decision: such a
document finds no decision of its own and is kept, never dropped.
"""
from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np


def node_id(key: tuple) -> tuple[int, int]:
    """(id, check), two non-negative 63-bit ints from a tuple of strings and ints."""
    text = "\x00".join(str(k) for k in key).encode("utf-8", "surrogatepass")
    d = hashlib.blake2b(text, digest_size=16).digest()
    return int.from_bytes(d[:8], "little") >> 1, int.from_bytes(d[8:], "little") >> 1


def pack(rows: np.ndarray) -> bytes:
    return np.ascontiguousarray(rows, dtype="<i8").tobytes()


def unpack(blob: bytes, width: int = 2) -> np.ndarray:
    return np.frombuffer(blob, dtype="<i8").reshape(-1, width)


def unpack_all(blobs: Iterable[bytes], width: int = 2) -> np.ndarray:
    parts = [unpack(b, width) for b in blobs]
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)


def sorted_rows(rows: np.ndarray) -> np.ndarray:
    """Distinct rows sorted by their first column, then the next ones."""
    if len(rows) == 0:
        return rows
    rows = rows[np.lexsort(rows.T[::-1])]
    return rows[np.r_[True, np.any(rows[1:] != rows[:-1], axis=1)]]
