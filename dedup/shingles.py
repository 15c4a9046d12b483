"""Word n-gram shingles and their 32-bit hashes, vectorised.

Default shingling is the dedup-eval ground truth's: lowercase, ``\\w+`` tokens (Python
``re``, Unicode), word 5-grams, i.e. the set of ``" ".join(words[i:i+5])``. Options
follow datatrove (docs/rules.md, Deduplication): digit runs (with decimals) → "0", accents stripped
(NFD, combining marks dropped). Never compare signatures made with different options
: ``MinhashDedup.fingerprint`` names all of them.

Why not hash each joined shingle string (datasketch's default, SHA-1)? Building and
hashing ~900 strings per document costs more than the whole permutation step we are
trying to speed up. Instead each *word* is hashed once (BLAKE2b-64, memoised per
process) and a shingle's hash is a fixed function of its words' hashes, computed for
all shingles at once with numpy:

    h64 = fmix64(sum_j K_j * H(word_{i+j}) mod 2^64);  hash32 = h64 >> 32

``shingle_hash32`` is the same function of one shingle string, so a datasketch
``MinHash(hashfunc=shingle_hash32)`` fed the shingle strings reproduces our signatures
bit for bit (tests/dedup/test_minhash.py). Words never contain spaces, so the joined
string and the word tuple determine each other: distinct shingles collide only by
the 32-bit truncation (as with datasketch's ``sha1_hash32``).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

WORD_RE = re.compile(r"\w+")
_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)*")
_MASK64 = (1 << 64) - 1
MAX_NGRAM = 32


def _word_constant(j: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"webrefine.shingle.{j}".encode(), digest_size=8).digest(), "little") | 1


_K = [_word_constant(j) for j in range(MAX_NGRAM)]
_K_NP = np.array(_K, dtype=np.uint64)

# Word-hash memo: words repeat heavily across documents. Bounded by clearing (a cache,
# not state: every entry is a pure function of its key).
_WORD_CACHE: dict[str, int] = {}
_WORD_CACHE_MAX = 1 << 20


def normalise(text: str, digits: bool = False, accents: bool = False) -> str:
    text = text.lower()
    if accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    if digits:
        text = _DIGITS_RE.sub("0", text)
    return text


def words(text: str, digits: bool = False, accents: bool = False) -> list[str]:
    return WORD_RE.findall(normalise(text, digits, accents))


def shingles(word_list: list[str], n: int = 5) -> set[str]:
    """The reference shingle set (slow; for tests and the ground truth)."""
    return {" ".join(word_list[i:i + n]) for i in range(len(word_list) - n + 1)}


def word_hash(word: str) -> int:
    h = _WORD_CACHE.get(word)
    if h is None:
        if len(_WORD_CACHE) >= _WORD_CACHE_MAX:
            _WORD_CACHE.clear()
        h = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        _WORD_CACHE[word] = h
    return h


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection), elementwise on uint64."""
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hash32(shingle: str) -> int:
    """Scalar definition of one shingle's hash (a datasketch ``hashfunc``)."""
    acc = 0
    for j, word in enumerate(shingle.split(" ")):
        acc = (acc + _K[j] * word_hash(word)) & _MASK64
    return _fmix64_int(acc) >> 32


def shingle_hashes(word_list: list[str], n: int = 5) -> np.ndarray:
    """Sorted unique uint32 hashes of the word n-grams of ``word_list`` (empty if short)."""
    m = len(word_list) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint32)
    try:  # the common case: every word already memoised (one C-level map, no Python loop)
        hs = np.fromiter(map(_WORD_CACHE.__getitem__, word_list), dtype=np.uint64, count=len(word_list))
    except KeyError:
        hs = np.fromiter(map(word_hash, word_list), dtype=np.uint64, count=len(word_list))
    acc = hs[:m] * _K_NP[0]
    for j in range(1, n):
        acc += hs[j:j + m] * _K_NP[j]
    return _sorted_unique((fmix64(acc) >> np.uint64(32)).astype(np.uint32))


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique without its overhead (it dominates on a thousand values)."""
    x.sort()
    if x.size < 2:
        return x
    keep = np.empty(x.size, dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def text_shingle_hashes(text: str, n: int = 5, digits: bool = False, accents: bool = False) -> np.ndarray:
    return shingle_hashes(words(text, digits, accents), n)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays (1.0 for two empty sets)."""
    if a.size == 0 and b.size == 0:
        return 1.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)
