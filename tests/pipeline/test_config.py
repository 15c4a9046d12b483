"""Config loading: presets, strict keys and types, stage order, clear errors."""
import pytest

from webrefine.pipeline.config import STAGES, ConfigError, load_config, parse_config, preset_names, stage_class


def test_every_preset_loads_and_resolves_every_parameter():
    for name in preset_names():
        cfg = load_config(name)
        assert cfg.stages and cfg.name == name
        resolved = cfg.to_dict()
        assert [next(iter(s)) for s in resolved["stages"]] == list(cfg.stage_names)
        # The resolved config loads back into the same config.
        assert parse_config(resolved).fingerprint() == cfg.fingerprint()


def test_default_is_refinedweb_and_extract_preset_only_extracts():
    assert load_config().name == "refinedweb"
    assert load_config("extract").stage_names == ("extract",)


def test_stage_names_and_parameters():
    cfg = parse_config({"stages": ["extract", {"language": {"languages": ["de", "fr"], "min_score": 0.5}}]})
    lang = cfg.stages[1]
    assert lang.languages == ("de", "fr") and lang.min_score == 0.5
    assert cfg.stages[0].timeout_s == 2.0  # default kept


@pytest.mark.parametrize("data, message", [
    ({"stages": ["extract", "no_such_stage"]}, "unknown stage 'no_such_stage'"),
    ({"stages": [{"extract": {"timeout": 3}}]}, "unknown parameter(s) ['timeout']"),
    ({"stages": [{"extract": {"timeout_s": "fast"}}]}, "expected a number"),
    ({"stages": [{"language": {"languages": "en"}}]}, "expected a list"),
    ({"stages": [{"language": {"min_score": 1.5}}]}, "min_score must be between 0 and 1"),
    ({"stages": [{"extract": {"fast": "yes"}}]}, "expected true or false"),
    ({"stages": ["language", "extract"]}, "need extracted text"),
    ({"stages": ["extract", "extract"]}, "listed twice"),
    ({"stages": []}, "non-empty list"),
    ({"stagez": ["extract"]}, "unknown top-level key"),
    ({"stages": ["extract"], "output": {"compression": "zip"}}, "unknown codec"),
    ({"stages": [["extract"]]}, "expected a stage name or a one-key mapping"),
])
def test_invalid_configs_fail_with_a_clear_message(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value)


def test_missing_preset_lists_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="refinedweb"):
        load_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [extract\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad))


def test_registry_names_match_class_names():
    for name in ("extract", "language"):
        assert stage_class(name).name == name
    assert set(STAGES) >= {"url_filter", "extract", "language", "gopher_repetition", "gopher_quality",
                           "line_corrections", "c4_quality", "fineweb_quality", "exact_dedup",
                           "url_dedup", "minhash_dedup"}


def test_output_tokenizer_is_checked_before_anything_runs():
    assert parse_config({"stages": ["exact_dedup"]}).output.tokenizer == "cl100k_base"
    assert parse_config({"stages": ["exact_dedup"], "output": {"tokenizer": "whitespace"}}).output.tokenizer == "whitespace"
    with pytest.raises(ConfigError, match="unknown tokenizer 'gpt5'"):
        parse_config({"stages": ["exact_dedup"], "output": {"tokenizer": "gpt5"}})


def test_refinedweb_preset_ends_with_exact_substring_dedup():
    stages = load_config("refinedweb").stages
    assert [s.name for s in stages[-2:]] == ["minhash_dedup", "exact_substring_dedup"]
    assert (stages[-1].min_tokens, stages[-1].min_words, stages[-1].repeated) == (50, 50, "keep_first")
    assert (stages[-1].parts, stages[-1].part_tokens) == ("auto", 20_000_000)  # never one part for a corpus


@pytest.mark.parametrize("params, parts, part_tokens", [
    ({}, "auto", 20_000_000), ({"parts": "auto", "part_tokens": 1000}, "auto", 1000), ({"parts": 8}, 8, 20_000_000)])
def test_exact_substring_parts_are_a_number_or_auto(params, parts, part_tokens):
    stage = parse_config({"stages": [{"exact_substring_dedup": params}]}).stages[0]
    assert (stage.parts, stage.part_tokens) == (parts, part_tokens)
    assert parse_config(parse_config({"stages": [{"exact_substring_dedup": params}]}).to_dict()).stages[0] == stage


@pytest.mark.parametrize("params, message", [
    ({"parts": "many"}, "parts must be 'auto' or an integer >= 1, got 'many'"),
    ({"parts": 0}, "parts must be 'auto' or an integer >= 1, got 0"),
    ({"parts": 2.5}, "expected an integer"),
    ({"parts": True}, "expected an integer, got True"),
    ({"part_tokens": 0}, "part_tokens must be an integer >= 1, got 0"),
    ({"part_tokens": "auto"}, "expected an integer"),
    ({"part_token": 5}, "did you mean"),
])
def test_exact_substring_part_parameters_fail_clearly(params, message):
    with pytest.raises(ConfigError, match="exact_substring_dedup") as err:
        parse_config({"stages": [{"exact_substring_dedup": params}]})
    assert message in str(err.value)
