"""minhash_dedup: MinHash signatures and LSH band keys (pure; Beam wiring in pipeline/beam/dedup_transforms.py).

Signatures are datasketch-compatible: permutation parameters are datasketch's
``MinHash(num_perm, seed, scheme="affine32").permutations`` (fmix32 pre-mix, then
``a*h + b mod 2^32`` with odd ``a``), drawn the way datasketch 2.0 draws them
(``affine32_permutations``, tested equal), and ``MinHasher.signature`` equals datasketch's
``hashvalues`` for the same input hashes (tested). What makes it faster than
``MinHash.update_batch`` at 9,000 permutations (README; bench/bench_minhash.py):
- shingles are hashed per word and combined with numpy (dedup/shingles.py), not by
  building and SHA-1-hashing one string per shingle;
- duplicate shingles are removed before permuting;
- the (shingles × permutations) matrix is never materialised: dedup/kernels.py works
  in cache-resident blocks (numpy), or in one fused loop when numba is installed.

Band keys: band j's ``rows`` values are folded (xor-multiply chain over 64-bit words,
seeded per band and by ``seed``) into a 63-bit integer. Seeding per band means keys of
different bands never need the band index to stay apart, and a 63-bit int is 9 bytes
in Beam's coder. False collisions: ~n²/2⁶⁴ per band, i.e. a handful of spurious pairs
per billion documents over all 450 bands; verification rejects them.

SHUFFLE COST PER SIGNED DOCUMENT (Beam FastPrimitivesCoder sizes; bench/dedup_eval.py
measures them on dedup-eval, mean text 6.2 KB):
  band entries   one (63-bit key, 12-byte node digest) per band, 26 B each:
                 refinedweb 450 × 26 B = 11.7 KB;  fineweb 14 × 26 B = 0.36 KB.
                 A whole 32-bit signature (36 KB / 448 B) is never shuffled: LSH needs
                 only band keys, and verification uses shingle sets, not signatures.
  node record    digest + rank (date, id): ~40 B here, ~100 B with WARC ids and dates.
                 With verify: + 4 B per unique shingle (3.6 KB mean here, ~0.6 × text),
                 because exact Jaccard needs the sets (a 9,000-value signature would be
                 10× larger than the set for a typical page, and only an estimate).
  the document   once, keyed by rank, to meet its keep/drop decision (text + ~300 B).
  => refinedweb ≈ 18 KB (verify: 22 KB) per document; fineweb ≈ 7 KB (verify: 10 KB),
     of which the document itself is 6.5 KB.
Duplicates only, whatever the preset: each unique candidate edge ~30 B to deduplicate
and ~2 × 30 B + the leaf's node record to reach its hub for verification; then per
verified edge and connected-components round two adjacency records of two ranks each
(~2 × 150 B with WARC ids) and ~4 label messages. A bucket of m members
yields m - 1 edges, so edge traffic never exceeds band traffic, even for huge clusters.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from webrefine.dedup import kernels
from webrefine.dedup import shingles
from webrefine.dedup.select import check_rule
from webrefine.filters.stage import GlobalStage

PRESETS = {"refinedweb": (450, 20), "fineweb": (14, 8)}
SCOPES = ("run", "parts")
_M64 = np.uint64(0x9E3779B97F4A7C15)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


@dataclass(frozen=True)
class MinhashDedup(GlobalStage):
    """Near-duplicate removal: MinHash LSH, optional exact-Jaccard verification,
    connected components, one deterministic survivor per component (docs/rules.md, Deduplication)."""

    name: ClassVar[str] = "minhash_dedup"
    reasons: ClassVar[tuple[str, ...]] = ("minhash_dedup.duplicate",)

    preset: str = "refinedweb"  # refinedweb = 450 bands × 20 rows; fineweb = 14 × 8
    bands: int = 0  # 0: the preset's
    rows: int = 0  # 0: the preset's
    ngram: int = 5
    seed: int = 1  # datasketch's and datatrove's default
    normalize_digits: bool = False  # datatrove: digit runs → "0"
    strip_accents: bool = False  # datatrove: NFD, combining marks dropped
    # Lee et al. (2022) verify candidates at Jaccard ≥ 0.8; RefinedWeb may not [U]. It
    # removes the S-curve's soft edge: without it 450×20 also merges pairs at 0.6-0.75.
    verify: bool = True
    threshold: float = 0.8
    survivor: str = "earliest"  # earliest | latest (by date; ties: smallest id)
    # Rounds of min-label propagation; labels travel one hop per round, and star-shaped
    # buckets keep component diameters small. Non-converged nodes are counted
    # (minhash_dedup.cc_unconverged); they can only keep extra documents, never lose one.
    max_rounds: int = 8
    # Band entries are shuffled packed per group of bands (key mod band_groups, dedup/lsh.py);
    # one group's entries (16 B each: 450 × 16 B per document with refinedweb) are sorted in
    # one worker's memory, so raise it with the input (1024: ~7 MB a group per million documents).
    band_groups: int = 1024
    # Where duplicates are looked for: "run" (every document against every other) or "parts":
    # each input file belongs to one of `parts` parts (by a hash of its name) and documents are
    # compared only within their part, as RefinedWeb did with 100 parts of every dump (docs/rules.md).
    scope: str = "run"
    parts: int = 100

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"minhash_dedup: preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        for field in ("bands", "rows"):
            if getattr(self, field) < 0:
                raise ValueError(f"minhash_dedup: {field} must be >= 0 (0 = preset), got {getattr(self, field)}")
        if self.num_perm > 1 << 16:
            raise ValueError(f"minhash_dedup: bands × rows = {self.num_perm} > 65536")
        if not 1 <= self.ngram <= shingles.MAX_NGRAM:
            raise ValueError(f"minhash_dedup: ngram must be in 1..{shingles.MAX_NGRAM}, got {self.ngram}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"minhash_dedup: threshold must be in (0, 1], got {self.threshold}")
        if not 1 <= self.max_rounds <= 64:
            raise ValueError(f"minhash_dedup: max_rounds must be in 1..64, got {self.max_rounds}")
        if not 1 <= self.band_groups <= 1 << 20:
            raise ValueError(f"minhash_dedup: band_groups must be in 1..1048576, got {self.band_groups}")
        if not 0 <= self.seed < 1 << 32:
            raise ValueError(f"minhash_dedup: seed must be in 0..2**32-1, got {self.seed}")
        if self.scope not in SCOPES:
            raise ValueError(f"minhash_dedup: scope must be one of {list(SCOPES)}, got {self.scope!r}")
        if not 1 <= self.parts <= 1 << 16:
            raise ValueError(f"minhash_dedup: parts must be in 1..65536, got {self.parts}")
        check_rule(self.survivor, self.name)

    def part(self, file_key: str) -> int:
        """The part of an input file (its work-area key, pipeline/workarea.py): 0 with scope "run"."""
        if self.scope == "run":
            return 0
        h = hashlib.blake2b(file_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(h, "little") % self.parts

    def band_salt(self, file_key: str) -> int:
        """XORed into the band keys of the file's documents, so that band buckets are shared
        only within a part (a cross-part match needs a 64-bit hash collision); 0 with scope "run"."""
        if self.scope == "run":
            return 0
        h = hashlib.blake2b(f"minhash part {self.part(file_key)}".encode(), digest_size=8).digest()
        return int.from_bytes(h, "little") >> 1  # 63 bits: band keys stay non-negative

    @property
    def n_bands(self) -> int:
        return self.bands or PRESETS[self.preset][0]

    @property
    def n_rows(self) -> int:
        return self.rows or PRESETS[self.preset][1]

    @property
    def num_perm(self) -> int:
        return self.n_bands * self.n_rows

    def fingerprint(self) -> str:
        """Everything a signature depends on (docs/rules.md, Deduplication): store it with any signature."""
        return (f"minhash/v1 words=\\w+ lower digits={int(self.normalize_digits)} "
                f"accents={int(self.strip_accents)} ngram={self.ngram} shingle=blake2b64-word+fmix64>>32 "
                f"perm=datasketch-affine32 seed={self.seed} bands={self.n_bands} rows={self.n_rows}")

    def hasher(self) -> "MinHasher":
        return MinHasher(self.n_bands, self.n_rows, self.seed, self.ngram,
                         self.normalize_digits, self.strip_accents)


def probability(s: float, bands: int, rows: int) -> float:
    """P(two documents at Jaccard s share a band): 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s ** rows) ** bands


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch 2.0's ``MinHash(num_perm, seed, scheme="affine32").permutations`` as two
    contiguous uint32 arrays (odd ``a``, any ``b``), drawn as datasketch draws them (tested equal to it).
    Not imported from datasketch: its package (lsh, scipy.integrate, ...) adds about 22 MB of RSS to
    every Beam worker that signs (16 workers: 0.35 GB), for three lines."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


class MinHasher:
    """Signatures and band keys for one configuration. Build once per worker (setup)."""

    def __init__(self, bands: int, rows: int, seed: int = 1, ngram: int = 5,
                 digits: bool = False, accents: bool = False, kernel: str = "auto") -> None:
        self.bands, self.rows, self.seed, self.ngram = bands, rows, seed, ngram
        self.digits, self.accents = digits, accents
        self.num_perm = bands * rows
        self.a, self.b = affine32_permutations(self.num_perm, seed)
        self.kernel_name, self._kernel = kernels.kernel(kernel)
        # Band keys hash pairs of rows as uint64 words; an odd row count gets a zero pad.
        self._words = (rows + 1) // 2
        self._band_seed = np.array(
            [int.from_bytes(hashlib.blake2b(f"webrefine.band.{seed}.{j}".encode(), digest_size=8).digest(), "little")
             for j in range(bands)], dtype=np.uint64)

    def shingle_hashes(self, text: str) -> np.ndarray:
        return shingles.text_shingle_hashes(text, self.ngram, self.digits, self.accents)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """Min over shingles of fmix32(h)·a + b (mod 2^32), per permutation."""
        h = np.asarray(hashes, dtype=np.uint32)
        s1, m1, s2, m2 = _FMIX32
        h = h ^ (h >> s1)
        h *= m1
        h ^= h >> s2
        h *= m2
        h ^= h >> s1
        return self._kernel(h, self.a, self.b)

    def band_keys(self, sig: np.ndarray) -> list[int]:
        """One non-negative 63-bit key per band (band index folded into the seed)."""
        return self.band_key_array(sig).tolist()

    def band_key_array(self, sig: np.ndarray) -> np.ndarray:
        """``band_keys`` as an int64 array (what dedup/lsh.py batches)."""
        grid = sig.reshape(self.bands, self.rows)
        if self.rows % 2:
            grid = np.concatenate([grid, np.zeros((self.bands, 1), dtype=np.uint32)], axis=1)
        words = np.ascontiguousarray(grid).view(np.uint64)
        acc = self._band_seed.copy()
        for c in range(self._words):
            acc ^= words[:, c]
            acc *= _M64
            acc ^= acc >> np.uint64(29)
        return (shingles.fmix64(acc) >> np.uint64(1)).astype(np.int64)
