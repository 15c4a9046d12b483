"""The MinHash permutation step: sig[k] = min over shingles g of (a[k]·g + b[k]) mod 2^32.

Two implementations with bit-identical results (tested against datasketch):
- ``numpy`` (always available): blocks of ~14 shingles × all permutations (~0.5 MB,
  L2-resident) are multiplied, offset and min-reduced in place into preallocated
  buffers; datasketch instead builds one (shingles × permutations) temporary per step
  (~30 MB at 9,000 permutations) and is bound by memory traffic. ~0.17 ns per
  shingle×permutation: three passes over the block are numpy's floor.
- ``numba`` (used when the ``numba`` package is installed): one fused loop, the running
  minimum held in cache, faster than numpy (bench/bench_minhash.py). Compiled once per process, at
  the first ``MinHasher`` (a Beam worker's ``setup``), never at import.
``kernel("auto")`` picks numba when it can be imported, else numpy.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

_BLOCK_ELEMS = 1 << 17  # shingles × permutations per numpy block: 512 KB of uint32
_EMPTY = np.uint32(0xFFFFFFFF)

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def permute_min_numpy(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = a.shape[0]
    block = max(1, _BLOCK_ELEMS // p)
    out = np.full(p, _EMPTY, dtype=np.uint32)
    buf = np.empty((min(block, max(len(g), 1)), p), dtype=np.uint32)
    tmp = np.empty(p, dtype=np.uint32)
    col = g[:, None]
    for i in range(0, len(g), block):
        rows = col[i:i + block]
        part = buf[:len(rows)]
        np.multiply(rows, a, out=part)
        np.add(part, b, out=part)
        np.minimum.reduce(part, axis=0, out=tmp)
        np.minimum(out, tmp, out=out)
    return out


_NUMBA: Kernel | None = None


def _numba_kernel() -> Kernel:
    global _NUMBA
    if _NUMBA is None:
        import numba

        mask = np.uint64(0xFFFFFFFF)

        @numba.njit("uint32[::1](uint32[::1], uint32[::1], uint32[::1])", nogil=True, cache=False)
        def permute_min(g, a, b):  # pragma: no cover - compiled
            p = a.shape[0]
            out = np.full(p, np.uint32(0xFFFFFFFF), dtype=np.uint32)
            for i in range(g.shape[0]):
                gi = np.uint64(g[i])
                for k in range(p):
                    v = np.uint32((np.uint64(a[k]) * gi + np.uint64(b[k])) & mask)
                    if v < out[k]:
                        out[k] = v
            return out

        _NUMBA = permute_min
    return _NUMBA


def available() -> list[str]:
    try:
        import numba  # noqa: F401
    except ImportError:
        return ["numpy"]
    return ["numpy", "numba"]


def kernel(name: str = "auto") -> tuple[str, Kernel]:
    """(the kernel's name, the kernel) for ``name`` in auto | numpy | numba."""
    if name == "auto":
        name = available()[-1]
    if name == "numpy":
        return name, permute_min_numpy
    if name == "numba":
        return name, _numba_kernel()
    raise ValueError(f"unknown MinHash kernel {name!r}: choose auto, numpy or numba")
