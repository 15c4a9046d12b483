"""Run configuration: YAML presets in configs/ loaded strictly into typed dataclasses.

YAML says *what* runs (stages, in order, and their parameters); Beam flags say *where*.
A stage's parameters are the fields of its class, so an unknown key, a wrong type or an
out-of-range value is a clear error before anything is launched.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import json
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from webrefine import configs
from webrefine.filters import tokenizer as tokenizers
from webrefine.filters.stage import GlobalStage, Stage

# The one table from config names to stage classes ("module:Class", imported on use).
STAGES: dict[str, str] = {
    "url_filter": "webrefine.filters.url_filter:UrlFilter",
    "extract": "webrefine.filters.extract:Extract",
    "language": "webrefine.filters.language:LanguageFilter",
    "gopher_repetition": "webrefine.filters.gopher_repetition:GopherRepetition",
    "gopher_quality": "webrefine.filters.gopher_quality:GopherQuality",
    "line_corrections": "webrefine.filters.line_corrections:LineCorrections",
    "c4_quality": "webrefine.filters.c4_quality:C4Quality",
    "fineweb_quality": "webrefine.filters.fineweb_quality:FineWebQuality",
    "exact_dedup": "webrefine.dedup.exact:ExactDedup",
    "url_dedup": "webrefine.dedup.urls:UrlDedup",
    "minhash_dedup": "webrefine.dedup.minhash:MinhashDedup",
    "exact_substring_dedup": "webrefine.dedup.substring:ExactSubstringDedup",
}

CONFIG_DIR = os.path.dirname(os.path.abspath(configs.__file__))


class ConfigError(ValueError):
    """A config that cannot run; the message says where and why."""


@dataclass(frozen=True)
class ReadConfig:
    # Payloads above this many bytes are cut (and flagged truncated) before decoding: a
    # memory guard for hostile input. Common Crawl already truncates records at 1 MiB.
    max_payload_bytes: int = 5_000_000
    # Keep records marked WARC-Truncated (flagged in the output) rather than dropping them.
    keep_truncated: bool = True
    # Text datasets (Parquet, JSONL): which column holds each field (datatrove's text_key).
    text_column: str = "text"
    id_column: str = "id"
    url_column: str = "url"
    date_column: str = "date"

    def __post_init__(self) -> None:
        if self.max_payload_bytes < 1024:
            raise ConfigError("read.max_payload_bytes must be at least 1024")
        for name in ("text_column", "id_column", "url_column", "date_column"):
            if not getattr(self, name):
                raise ConfigError(f"read.{name} must name a column")

    def columns(self) -> dict[str, str]:
        """Document field → column of a text dataset."""
        return {"text": self.text_column, "id": self.id_column, "url": self.url_column, "date": self.date_column}


@dataclass(frozen=True)
class OutputConfig:
    compression: str = "zstd"
    # Target size of a documents/ shard in MB (compressed); a shard closes once it passes it.
    shard_mb: int = 256
    # Dropped documents written to rejects/ per reason (bottom-k by id hash: deterministic).
    # 0 writes none; -1 writes every dropped document (audits; costs output space).
    rejects_per_reason: int = 100
    # Text kept per reject row, in characters (the full text is rarely needed to judge).
    reject_text_chars: int = 2000
    # What counts the tokens of documents/ (n_tokens) and of stats.json (filters/tokenizer.py).
    tokenizer: str = tokenizers.DEFAULT

    def __post_init__(self) -> None:
        if self.compression not in {"zstd", "snappy", "gzip", "none", "lz4", "brotli"}:
            raise ConfigError(f"output.compression: unknown codec {self.compression!r}")
        if self.shard_mb < 1:
            raise ConfigError("output.shard_mb must be >= 1")
        if self.rejects_per_reason < -1:
            raise ConfigError("output.rejects_per_reason must be -1 (all), 0 (none) or a positive count")
        try:
            tokenizers.check_name(self.tokenizer, "output")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class RunConfig:
    name: str
    stages: tuple[Stage | GlobalStage, ...]
    description: str = ""
    read: ReadConfig = field(default_factory=ReadConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config (every parameter, defaults included), as written to config.yaml."""
        return {
            "name": self.name,
            "description": self.description,
            "stages": [{s.name: _plain(dataclasses.asdict(s))} for s in self.stages],
            "read": _plain(dataclasses.asdict(self.read)),
            "output": _plain(dataclasses.asdict(self.output)),
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def stage_class(name: str) -> type:
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}{_did_you_mean(name, STAGES)}; known stages: {', '.join(STAGES)}")
    module, _, cls = STAGES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def preset_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".yaml"))


def resolve_path(name_or_path: str) -> str:
    """A preset name (a file in configs/) or a path to a YAML file."""
    looks_like_path = os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml"))
    if looks_like_path and os.path.isfile(name_or_path):
        return name_or_path
    candidate = os.path.join(CONFIG_DIR, name_or_path + ".yaml")
    if not looks_like_path and os.path.isfile(candidate):
        return candidate
    raise ConfigError(f"no config {name_or_path!r}: not a file, and not a preset ({', '.join(preset_names())})")


def load_config(name_or_path: str = "refinedweb") -> RunConfig:
    path = resolve_path(name_or_path)
    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(data: Any) -> RunConfig:
    if not isinstance(data, Mapping):
        raise ConfigError("the config must be a mapping with at least 'stages'")
    allowed = {"name", "description", "stages", "read", "output"}
    unknown = set(data) - allowed
    if unknown:
        first = sorted(unknown)[0]
        raise ConfigError(f"unknown top-level key(s) {sorted(unknown)}{_did_you_mean(first, allowed)}; "
                          f"allowed: {sorted(allowed)}")
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise ConfigError("'stages' must be a non-empty list of stage names or {name: {params}} mappings")
    stages = tuple(_build_stage(item, i) for i, item in enumerate(raw_stages))
    _check_order(stages)
    return RunConfig(
        name=str(data.get("name", "custom")),
        description=str(data.get("description", "")),
        stages=stages,
        read=_build(ReadConfig, data.get("read") or {}, "read"),
        output=_build(OutputConfig, data.get("output") or {}, "output"),
    )


def _build_stage(item: Any, index: int) -> Stage | GlobalStage:
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, Mapping) and len(item) == 1:
        name, params = next(iter(item.items()))
        params = params or {}
    else:
        hint = ""
        if isinstance(item, Mapping):
            bare = [k for k, v in item.items() if v is None]
            if len(bare) == 1:  # "- language:" with its parameters at the same indentation
                hint = (f"; to give {bare[0]} parameters, indent them under it (two more spaces than "
                        f"'{bare[0]}:')")
        raise ConfigError(f"stages[{index}]: expected a stage name or a one-key mapping, got {item!r}{hint}")
    if not isinstance(params, Mapping):
        raise ConfigError(f"stages[{index}] ({name}): parameters must be a mapping, got {params!r}")
    return _build(stage_class(name), params, f"stages[{index}] ({name})")


def _build(cls: type, params: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(params) - set(fields)
    if unknown:
        first = sorted(unknown)[0]
        raise ConfigError(f"{where}: unknown parameter(s) {sorted(unknown)}{_did_you_mean(first, fields)}; "
                          f"allowed: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {key: _coerce(value, hints[key], f"{where}.{key}") for key, value in params.items()}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check a YAML value against a field's type; lists become tuples."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _check_order(stages: tuple[Stage | GlobalStage, ...]) -> None:
    names = [s.name for s in stages]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"stage(s) listed twice: {sorted(dupes)}")
    html = [i for i, s in enumerate(stages) if s.input == "html"]
    if html:  # before the stage that turns HTML into text, only stages that read the URL
        late = [s.name for s in stages[: html[0]] if s.input == "text"]
        if late:
            raise ConfigError(f"{late} need extracted text: list them after '{stages[html[0]].name}'")
    globals_ = [s.name for s in stages if isinstance(s, GlobalStage)]
    if "exact_substring_dedup" in globals_[:-1]:
        # it rewrites texts, which the other dedup stages read back from the work area (dedup/refs.py)
        raise ConfigError(f"'exact_substring_dedup' must be the last dedup stage (it comes before "
                          f"'{globals_[-1]}'): it cuts texts that the other dedup stages compare")
    seen_global = None
    for stage in stages:
        if isinstance(stage, GlobalStage):
            seen_global = stage.name
        elif seen_global is not None:
            # A filter after dedup can delete the one document a cluster kept (docs/rules.md, Pipeline order).
            raise ConfigError(
                f"'{stage.name}' comes after '{seen_global}': run every filter before deduplication"
            )
