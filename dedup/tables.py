"""Compact document identities and the packed int64 tables that dedup stages read as side inputs.

A dedup stage decides on small records (keys, ranks, identities) and never needs to move a
document to its decision: the decisions of every document in a duplicate group form one table
(rows of int64: identity, check, code), sorted, that each worker searches for the documents it
holds. Unique documents (most of them) have no row at all and pass through untouched.

Identities are 63 bits of a 128-bit BLAKE2b of a tuple; the other 63 bits are a ``check``.
Rows match only when both agree, so two documents whose 63-bit ids collide (odds ~n²/2⁶⁴:
~3e-8 at a million documents) never share a decision; callers keep a document whose id matches
with another check, and count it: a collision can keep an extra document, never drop one.
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


def find(table: np.ndarray, nid: int, check: int) -> int | None:
    """The code (third column) of row (nid, check); None when absent; 0 for a collision
    (the id is there with another check only). Codes are never 0 otherwise."""
    ids = table[:, 0]
    i = int(np.searchsorted(ids, nid))
    found = False
    while i < len(ids) and int(ids[i]) == nid:
        if int(table[i, 1]) == check:
            return int(table[i, 2])
        found, i = True, i + 1
    return 0 if found else None
