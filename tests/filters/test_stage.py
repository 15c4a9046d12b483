"""The stage contract, checked for every entry of the stage table (``pipeline/config.py``
``STAGES``): a stage added to the table is checked here without being listed anywhere, and
a forgotten piece (a rule, a signal, the YAML line, the test file) fails a test."""
from __future__ import annotations

import dataclasses
import pathlib
import pickle
import re
import typing

import pytest
import yaml

from webrefine.filters.document import Document
from webrefine.filters.stage import DIRECTIONS, GlobalStage, Rule, Stage
from webrefine.pipeline.config import CONFIG_DIR, STAGES, parse_config, stage_class

TESTS = pathlib.Path(__file__).resolve().parents[1]
ALLOWED_TYPES = {int, float, bool, str, str | None, tuple[str, ...], int | str}  # int | str: a count or "auto"
SNAKE = r"[a-z][a-z0-9_]*"
TEXT = ("The old harbour town sits at the mouth of a wide river, and its people have fished these waters "
        "for many centuries.\nEvery morning the boats leave before dawn and return with the tide.\n"
        "HOME | ABOUT | CONTACT\n12 likes\nThe market that follows is loud and busy, with traders calling out "
        "prices to anyone who will stop and listen to them.")
HTML = ("<html><head><title>Harbour</title></head><body><article><h1>The harbour</h1><p>"
        + "</p><p>".join(TEXT.split("\n")) + "</p></article></body></html>")
DOCS = [
    Document(id="a", url="https://example.com/articles/harbour-town", text=TEXT, html=HTML),
    Document(id="b", url="https://example.com/", text="", html=""),
    Document(id="c", url="https://example.com/x", text="lorem ipsum {", html="<p>x</p>"),
]


def per_document(name: str) -> bool:
    return issubclass(stage_class(name), Stage)


def instance(cls: type):
    """The stage with its defaults, run in this process (no helper processes)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(isolation="inline") if "isolation" in fields else cls()


@pytest.mark.parametrize("name", STAGES)
def test_a_frozen_dataclass_of_plain_parameters(name):
    cls = stage_class(name)
    assert issubclass(cls, (Stage, GlobalStage)) and cls.name == name
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        assert hints[field.name] in ALLOWED_TYPES, field.name
    stage = cls()
    if dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(stage, dataclasses.fields(cls)[0].name, None)


@pytest.mark.parametrize("name", STAGES)
def test_pickles_before_and_after_setup(name):
    stage = instance(stage_class(name))
    assert pickle.loads(pickle.dumps(stage)) == stage
    if isinstance(stage, Stage):
        stage.setup()  # loaded resources stay on the worker: never pickled
        clone = pickle.loads(pickle.dumps(stage))
        assert clone == stage and not any(k.startswith("_") for k in clone.__dict__)
        stage.teardown()


@pytest.mark.parametrize("name", STAGES)
def test_reasons_are_well_formed(name):
    cls = stage_class(name)
    assert cls.reasons and len(set(cls.reasons)) == len(cls.reasons)
    assert all(re.fullmatch(rf"{name}\.{SNAKE}", r) for r in cls.reasons), cls.reasons


@pytest.mark.parametrize("name", STAGES)
def test_signals_are_declared(name):
    cls = stage_class(name)
    assert len(set(cls.signal_names)) == len(cls.signal_names)
    assert set(cls.report_histograms) <= set(cls.signal_names) and cls.input in ("text", "url", "html")
    assert all(re.fullmatch(SNAKE, s) for s in cls.signal_names)
    if not per_document(name):
        return
    assert cls.signal_names, "a per-document stage reports what it measured"
    stage = instance(cls)
    for doc in DOCS:
        verdict = stage(doc)
        assert set(verdict.signals) <= set(cls.signal_names), set(verdict.signals) - set(cls.signal_names)
        if cls.decides_by_rules:  # every signal for every document: what-if curves need them all
            assert set(verdict.signals) == set(cls.signal_names)
        assert all(isinstance(v, float) for v in verdict.signals.values())
        assert verdict.keep == (verdict.reason is None)
        assert verdict.keep or verdict.reason in cls.reasons


@pytest.mark.parametrize("name", STAGES)
def test_rules_are_declared(name):
    cls = stage_class(name)
    hints = typing.get_type_hints(cls)
    for rule in cls.rules:
        assert isinstance(rule, Rule) and rule.stage == name and rule.reason in cls.reasons, rule
        assert rule.signal in cls.signal_names and rule.direction in DIRECTIONS, rule
        assert rule.field is None or hints.get(rule.field) in (int, float), rule  # a numeric threshold
        for flag in (rule.enabled_by, rule.disabled_by, rule.zero_exempt_by):
            assert flag is None or hints.get(flag) is bool, rule
        assert rule.field is not None or not rule.label, rule
    assert len({r.key for r in cls.rules}) == len(cls.rules)
    if cls.decides_by_rules:
        # Each reason is a rule, so failing() and the report know every drop.
        assert cls.rules and {r.reason for r in cls.rules} == set(cls.reasons)
        stage = instance(cls)
        for doc in DOCS:
            verdict = stage(doc)
            failed = stage.failing(verdict.signals)
            assert verdict.reason == (failed[0] if failed else None)


@pytest.mark.parametrize("name", STAGES)
def test_loads_from_one_yaml_line_and_a_preset_lists_it(name):
    cls = stage_class(name)
    assert parse_config(yaml.safe_load(f"stages:\n  - {name}\n")).stages == (cls(),)
    presets = [yaml.safe_load(p.read_text()) for p in pathlib.Path(CONFIG_DIR).glob("*.yaml")]
    listed = {s if isinstance(s, str) else next(iter(s)) for p in presets for s in p["stages"]}
    assert name in listed, f"no preset in configs/ runs {name}"


@pytest.mark.parametrize("name", [n for n in STAGES if per_document(n)])
def test_module_and_test_file_are_named_after_the_stage(name):
    cls = stage_class(name)
    assert name in cls.__module__.split("."), cls.__module__
    assert (TESTS / "filters" / f"test_{name}.py").is_file(), f"tests/filters/test_{name}.py"


def test_stages_build_from_yaml_params():
    run = parse_config({"stages": [
        {"url_filter": {"hard_word_lists": [], "soft_word_threshold": 3}},
        {"gopher_quality": {"min_words": 40, "stop_words": ["the", "of"], "max_mean_word_len": 12}},
        {"line_corrections": {"prefix_patterns": ["sign in"], "max_removed_ratio": 0.1}},
    ]})
    url, quality, lines = run.stages[:3]
    assert url.soft_word_threshold == 3 and url.hard_word_lists == ()
    assert quality.stop_words == ("the", "of") and quality.max_mean_word_len == 12.0
    assert lines.prefix_patterns == ("sign in",)
