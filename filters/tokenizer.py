"""Tokens: the unit RefinedWeb and FineWeb state their sizes in, and the unit of
exact-substring deduplication (docs/rules.md, Tokens).

A tokenizer is named in the config:
- ``cl100k_base`` (the default) or ``o200k_base``: OpenAI's byte-level BPE vocabularies,
  shipped inside the ``bpe-openai`` wheel (a dependency: nothing is downloaded at run time);
- ``whitespace``: whitespace-separated words (``str.split``), the fallback that needs nothing;
- a path (local, ``gs://``, ``s3://``) to a Hugging Face ``tokenizer.json``: needs the
  ``tokenizers`` extra (``pip install '.[tokenizers]'``).

``spans(text)`` gives what exact-substring dedup needs: one integer id per token and each
token's character range. For byte-level BPE a token can end inside a multi-byte UTF-8
character; its range is then shrunk to whole characters (start rounded up, end rounded
down), so a range never splits a character (a token inside one character gets end = start - 1;
the range of a run of tokens, first start to last end, holds every character they cover whole). ``count(text)`` is the number of tokens.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache
from typing import Callable

import numpy as np

BUILTIN = ("cl100k_base", "o200k_base", "whitespace")
# bpe-openai refuses a text of 1M characters or one giving over 200k tokens: longer texts are
# encoded in pieces of at most this many characters (≤ 4 tokens each, one per UTF-8 byte),
# cut after a whitespace character where there is one, so only the pieces' edges can differ.
_BPE_PIECE_CHARS = 40_000
_WHITESPACE = re.compile(r"\s")
DEFAULT = "cl100k_base"
_WORD = re.compile(r"\S+")
# Recent texts and their counts, so the stages after a filter that kept the text as it was
# (the same str object: the lookup is an identity check) do not tokenize it again.
_COUNT_CACHE_SIZE = 16


def check_name(name: str, where: str) -> None:
    if not name:
        raise ValueError(f"{where}: tokenizer must be one of {BUILTIN} or a path to a tokenizer.json")
    if name not in BUILTIN and not name.endswith(".json"):
        raise ValueError(f"{where}: unknown tokenizer {name!r}: use one of {BUILTIN}, or a path to a "
                         f"Hugging Face tokenizer.json")


class Tokenizer:
    """One tokenizer, loaded once per process (``get``)."""

    def __init__(self, name: str, encode: Callable[[str], tuple[np.ndarray, np.ndarray, np.ndarray]],
                 count: Callable[[str], int]) -> None:
        self.name = name
        self._spans = encode
        self._count = count
        self._cache: OrderedDict[str, int] = OrderedDict()

    def spans(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids int64, char starts int64, char ends int64), one entry per token."""
        return self._spans(text)

    def count(self, text: str) -> int:
        if not text:
            return 0
        cache = self._cache
        n = cache.get(text)
        if n is None:
            n = self._count(text)
            cache[text] = n
            if len(cache) > _COUNT_CACHE_SIZE:
                cache.popitem(last=False)
        return n

    def counted(self, doc):
        """``doc`` with ``n_tokens`` set: the carried count when there is one, else counted now.
        Only for the run's ``output.tokenizer``, the one ``Document.n_tokens`` is defined by."""
        if doc.n_tokens >= 0:
            return doc
        return doc.replace(n_tokens=self.count(doc.text))


@lru_cache(maxsize=None)
def get(name: str = DEFAULT) -> Tokenizer:
    check_name(name, "tokenizer")
    if name == "whitespace":
        return Tokenizer(name, _whitespace_spans, lambda text: len(text.split()))
    if name in BUILTIN:
        count = _bpe_counter(name)  # the vocabularies are inside the wheel
        return Tokenizer(name, _BpeSpans(name), lambda text: sum(count(p) for p in _pieces(text)))
    return _hf_tokenizer(name)


def _bpe_bindings():
    """bpe-openai's Rust extension module, loaded without running the package's ``__init__``,
    which decodes in Python every vocabulary the wheel ships (about 0.5 s of CPU) only to list
    their special tokens. Counting needs the extension alone; ``spans`` (exact-substring
    dedup) still imports the package, which then finds this module in ``sys.modules``."""
    import importlib.machinery
    import importlib.util
    import sys

    name = "bpe_openai._bindings"
    if name in sys.modules:
        return sys.modules[name]
    package = importlib.util.find_spec("bpe_openai")  # locates the package, does not import it
    spec = importlib.machinery.PathFinder.find_spec("_bindings", package.submodule_search_locations)
    if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        import bpe_openai._bindings  # an unexpected layout: the package's own import

        return bpe_openai._bindings
    loader = importlib.machinery.ExtensionFileLoader(name, spec.origin)
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, spec.origin, loader=loader))
    sys.modules[name] = module  # registered first: the extension may be initialised once per process
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _bpe_counter(name: str) -> Callable[[str], int]:
    """Token counts for a bpe-openai vocabulary: its Rust tokenizer's ``count`` where the extension
    has one (bpe-openai 0.1.4), else the package's own ``Encoding``."""
    backend = getattr(_bpe_bindings(), "tokenizer_for_encoding", lambda _: None)(name)
    if backend is not None and hasattr(backend, "count"):
        return lambda text: _bpe_count(backend, text)
    import bpe_openai

    enc = bpe_openai.get_encoding(name)
    return lambda text: len(enc.encode_ordinary(text))


def _bpe_count(backend, text: str) -> int:
    """Tokens of ``text``, as ``len(bpe_openai.Encoding.encode_ordinary(text))`` gives them
    (tests/filters/test_tokenizer.py checks the two agree), lone surrogates replaced as it does."""
    try:
        return backend.count(text)
    except UnicodeEncodeError:
        return backend.count(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))


class _BpeSpans:
    """``spans`` for a BPE vocabulary: loads the package's encoding and every token's UTF-8
    length on first use, which only exact-substring dedup needs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loaded = None

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._loaded is None:
            import bpe_openai

            enc = bpe_openai.get_encoding(self.name)
            # UTF-8 bytes of every token id, looked up per token with numpy
            lengths = np.array([_token_length(enc, t) for t in range(enc.max_token_value + 1)], dtype=np.int64)
            self._loaded = enc, lengths
        return _bpe_spans(*self._loaded, text)


def _pieces(text: str) -> list[str]:
    if len(text) <= _BPE_PIECE_CHARS:
        return [text]
    out, at = [], 0
    while len(text) - at > _BPE_PIECE_CHARS:
        end = at + _BPE_PIECE_CHARS
        spaces = [m.end() for m in _WHITESPACE.finditer(text, end - _BPE_PIECE_CHARS // 4, end)]
        cut = spaces[-1] if spaces else end
        out.append(text[at:cut])
        at = cut
    out.append(text[at:])
    return out


def _token_length(enc, token: int) -> int:
    try:
        return len(enc.decode_single_token_bytes(token))
    except KeyError:  # an unused id between the vocabulary and the special tokens
        return 0


def _whitespace_spans(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words get ids from a 64-bit BLAKE2b of their UTF-8 bytes; two different words share
    an id with probability 2⁻⁶⁴ per pair (docs/rules.md: negligible at any corpus size)."""
    import hashlib

    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    ids = np.fromiter((int.from_bytes(hashlib.blake2b(text[s:e].encode("utf-8", "surrogatepass"),
                                                      digest_size=8).digest(), "little") >> 1
                       for s, e in words), dtype=np.int64, count=len(words))
    bounds = np.array(words, dtype=np.int64).reshape(-1, 2)
    return ids, bounds[:, 0].copy(), bounds[:, 1].copy()


def _byte_to_char(text: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """For every byte offset 0..len(data): the character index when rounding up, and when
    rounding down (equal at character boundaries)."""
    b = np.frombuffer(data, dtype=np.uint8)
    is_start = np.empty(len(b) + 1, dtype=bool)
    is_start[:-1] = (b & 0xC0) != 0x80
    is_start[-1] = True  # the end of the text is a boundary
    up = np.concatenate(([0], np.cumsum(is_start[:-1], dtype=np.int64)))  # starts before offset
    down = up - (~is_start).astype(np.int64)
    return up, down


def _bpe_spans(enc, lengths: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = np.asarray([t for piece in _pieces(text) for t in enc.encode_ordinary(piece)], dtype=np.int64)
    sizes = lengths[ids]
    ends = np.cumsum(sizes)
    starts = ends - sizes
    up, down = _byte_to_char(text, text.encode("utf-8", "surrogatepass"))
    return ids, up[starts], down[ends]


def _hf_tokenizer(path: str) -> Tokenizer:
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        raise ValueError(f"tokenizer {path!r} needs Hugging Face tokenizers: pip install 'webrefine[tokenizers]'") \
            from None
    from webrefine.filters import resources

    tok = HFTokenizer.from_str(resources.read_bytes(path).decode("utf-8"))

    def spans(text: str):
        enc = tok.encode(text, add_special_tokens=False)
        offsets = np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
        return np.asarray(enc.ids, dtype=np.int64), offsets[:, 0].copy(), offsets[:, 1].copy()

    return Tokenizer(path, spans, lambda text: len(tok.encode(text, add_special_tokens=False).ids))
