"""The shared word, line, paragraph and token views (filters/text.py)."""
import random

import pytest

from webrefine.filters import text as T


def test_words_are_whitespace_words():
    assert T.words(" a  b\tc\nd \u00a0e ") == ("a", "b", "c", "d", "e")
    assert T.words("") == ()


def test_word_counts_alnum_and_alpha():
    counts = T.word_counts("Hello, world - 2023 | #1 ___ ok!")
    # words: Hello, | world | - | 2023 | | | #1 | ___ | ok!
    assert counts.words == 8
    assert counts.alnum == 5  # Hello, world 2023 #1 ok!
    assert counts.alpha == 3  # Hello, world ok!
    assert counts.chars == len("Hello,world-2023|#1___ok!")
    assert T.count_alnum_words("- -- ... !!") == 0
    assert T.word_counts("") == (0, 0, 0, 0)


def _reference(text):
    ws = text.split()
    return (
        len(ws),
        sum(any(c.isalnum() for c in w) for w in ws),
        sum(any(c.isalpha() or (c.isalnum() and not c.isdecimal()) for c in w) for w in ws),
        sum(map(len, ws)),
    )


def test_word_counts_match_a_per_character_reference():
    rnd = random.Random(7)
    alphabet = "ab Z9_-.,#…’—é日本\u0663 \n\t\u00a0"
    for _ in range(500):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        assert tuple(T.count_words(text)) == _reference(text), repr(text)


def test_ascii_fast_path_matches_the_regexes():
    # Texts whose only non-ASCII characters are symbols take the bytes path; it must give
    # exactly what the regex path (count_words, the token regex) gives.
    rnd = random.Random(11)
    alphabet = "ab Z9_-.,'# \n\t" * 30 + "…’“—•\u00a0"
    taken = 0
    for _ in range(800):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 50)))
        T.clear_caches()
        taken += T._ascii_words(text) is not None
        assert tuple(T.word_counts(text)) == tuple(T.count_words(text)), repr(text)
        assert T.tokens(text) == tuple(T._TOKEN.findall(text)), repr(text)
    assert taken > 400
    assert T._ascii_words("café — ok") is None  # a non-ASCII letter: the regex path


def test_non_english_words():
    assert T.word_counts("Привет, мир! ١٢٣").alnum == 3
    assert T.word_counts("Привет, мир! ١٢٣").alpha == 2
    assert T.word_counts("日本語のテキストです。").alnum == 1  # no spaces: one word


def test_lines_are_stripped_and_non_empty():
    assert T.lines("  a \n\n \t \r\nb\r\n") == ("a", "b")
    assert T.lines("") == ()


def test_paragraphs_split_on_blank_lines():
    assert T.paragraphs("a\nb\n\nc\n \n\n d \n") == ("a\nb", "c", "d")
    assert T.paragraphs("\n\n") == ()


def test_tokens_start_with_alphanumeric():
    expected = ("Don", "t", "stop_me", "now", "init__", "x2", "3", "5")
    assert T.tokens("Don't stop_me now, __init__ x2 — 3.5") == expected  # bytes path
    assert T.tokens("Don't stop_me now, __init__ x2 — 3.5 日本") == expected + ("日本",)  # regex path


def test_lowered_words():
    assert T.lowered_words("The  CAT\nsat") == " the cat sat "


def test_views_are_cached_and_immutable():
    text = "one two\nthree"
    assert T.words(text) is T.words(text)
    assert T.lines(text) is T.lines(text)
    assert isinstance(T.tokens(text), tuple)


@pytest.mark.parametrize("num,den,expected", [(1, 2, 0.5), (3, 0, 0.0), (0, 0, 0.0)])
def test_ratio(num, den, expected):
    assert T.ratio(num, den) == expected


# --- the stage contract every filter in this package keeps (pipeline/config.py relies on it)
import dataclasses  # noqa: E402
import pickle  # noqa: E402
import re  # noqa: E402
import typing  # noqa: E402

from webrefine.filters.document import Document  # noqa: E402
from webrefine.filters.stage import Stage
from webrefine.filters.c4_quality import C4Quality  # noqa: E402
from webrefine.filters.fineweb_quality import FineWebQuality  # noqa: E402
from webrefine.filters.line_corrections import LineCorrections  # noqa: E402
from webrefine.filters.gopher_quality import GopherQuality  # noqa: E402
from webrefine.filters.gopher_repetition import GopherRepetition  # noqa: E402
from webrefine.filters.url_filter import UrlFilter  # noqa: E402

STAGES = {
    "url_filter": UrlFilter,
    "gopher_repetition": GopherRepetition,
    "gopher_quality": GopherQuality,
    "line_corrections": LineCorrections,
    "c4_quality": C4Quality,
    "fineweb_quality": FineWebQuality,
}
ALLOWED_TYPES = {int, float, bool, str, str | None, tuple[str, ...]}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_contract(name):
    cls = STAGES[name]
    assert issubclass(cls, Stage) and cls.name == name
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    assert cls.reasons and len(set(cls.reasons)) == len(cls.reasons)
    assert all(re.fullmatch(rf"{name}\.[a-z0-9_]+", r) for r in cls.reasons)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        assert hints[field.name] in ALLOWED_TYPES, field.name
    stage = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(stage, dataclasses.fields(cls)[0].name, None)
    v = stage(Document(id="x", url="https://example.com/a", text="Some text.\nMore text here."))
    assert all(isinstance(value, float) for value in v.signals.values())
    assert all("." not in key for key in v.signals)
    failed = stage.failing(v.signals)
    assert set(failed) <= set(cls.reasons) and v.reason == (failed[0] if failed else None)
    assert pickle.loads(pickle.dumps(stage)) == stage


def test_stages_build_from_yaml_params():
    config = pytest.importorskip("pipeline.config")
    for name, cls in STAGES.items():
        assert config.stage_class(name) is cls
    run = config.parse_config({"stages": [
        {"url_filter": {"hard_word_lists": [], "soft_word_threshold": 3}},
        {"gopher_quality": {"min_words": 40, "stop_words": ["the", "of"], "max_mean_word_len": 12}},
        {"line_corrections": {"prefix_patterns": ["sign in"], "max_removed_ratio": 0.1}},
    ]})
    url, quality, lines = run.stages[:3]
    assert url.soft_word_threshold == 3 and url.hard_word_lists == ()
    assert quality.stop_words == ("the", "of") and quality.max_mean_word_len == 12.0
    assert lines.prefix_patterns == ("sign in",)
