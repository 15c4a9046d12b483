"""c4_quality: C4's line removals and document drops, TFDS values (docs/rules.md, C4 quality)."""
import pickle

import pytest

from webrefine.filters.c4_quality import C4Quality, count_sentences
from tests.filters.helpers import checked, doc

F = C4Quality()
GOOD = "This is a perfectly normal sentence of text."  # 8 words, 1 sentence


def check(text, f=F):
    v = checked(f, text)
    return v


def result(text, f=F):
    v = check(text, f)
    assert v.keep, v.reason
    return v.doc.text if v.doc is not None else text


def test_clean_document_is_unchanged():
    text = "\n".join([GOOD] * 3)
    v = check(text)
    assert v.keep and v.doc is None
    assert v.signals["sentences"] == 3 and v.signals["lines_kept"] == 3


def test_too_few_sentences_boundary():
    assert check("\n".join([GOOD] * 2)).reason == "c4_quality.too_few_sentences"
    assert check("One sentence here. Two sentences here. Three sentences here.").keep


def test_min_words_per_line_boundary():
    four = "Only four words here."
    five = "Now five words are here."
    text = "\n".join([GOOD] * 3 + [four, five])
    v = check(text)
    assert v.signals["too_few_words_lines"] == 1
    assert result(text).split("\n") == [GOOD] * 3 + [five]


def test_max_word_length_boundary():
    ok = "A long word " + "x" * 1000 + " ends here."
    too_long = "A long word " + "x" * 1001 + " ends here."
    v = check("\n".join([GOOD] * 3 + [ok, too_long]))
    assert v.signals["too_long_word_lines"] == 1
    assert result("\n".join([GOOD] * 3 + [ok, too_long])).split("\n")[-1] == ok


def test_terminal_punctuation_and_ellipsis():
    lines = [GOOD] * 3 + ["No end mark on this line", "It trails off like this...", 'He said "five words here"']
    v = check("\n".join(lines))
    assert v.signals["no_terminal_punct_lines"] == 2
    assert result("\n".join(lines)).split("\n")[-1] == 'He said "five words here"'


def test_terminal_punctuation_rule_off_still_removes_short_lines():
    # FineWeb's configuration; short lines still go.
    f = C4Quality(filter_no_terminal_punct=False)
    text = "\n".join([GOOD] * 3 + ["No end mark on this line", "Too short"])
    v = check(text, f)
    assert v.signals["no_terminal_punct_lines"] == 0 and v.signals["too_few_words_lines"] == 1
    assert result(text, f).split("\n")[-1] == "No end mark on this line"


def test_javascript_and_policy_lines_are_removed():
    lines = [GOOD] * 3 + [
        "Please enable JavaScript to view the comments.",
        "By using this site you agree to our Privacy Policy.",
        "This website uses cookies to improve your experience.",
    ]
    v = check("\n".join(lines))
    assert v.signals["javascript_lines"] == 1 and v.signals["policy_lines"] == 2
    assert result("\n".join(lines)) == "\n".join([GOOD] * 3)


def test_citations_are_removed():
    text = "\n".join([GOOD] * 2 + ["The city was founded in 1850.[1][citation needed]", "The text here [edit] is fine."])
    assert result(text).split("\n")[2:] == ["The city was founded in 1850.", "The text here  is fine."]


def test_lorem_ipsum_and_curly_bracket_drop_the_document():
    base = [GOOD] * 3
    assert check("\n".join(base + ["Lorem ipsum dolor sit amet, consectetur."])).reason == "c4_quality.lorem_ipsum"
    assert check("\n".join(base + ["Use the function f(x) { return x; }."])).reason == "c4_quality.curly_bracket"
    # only lines that survive the line rules count (TFDS order)
    assert check("\n".join(base + ["function f() { return 1; }"])).keep
    v = check("\n".join(base + ["Lorem ipsum text { here } and more."]))
    assert F.failing(v.signals) == ("c4_quality.lorem_ipsum", "c4_quality.curly_bracket")


def test_one_case_per_reason():
    cases = {
        "c4_quality.lorem_ipsum": (F, "Lorem ipsum dolor sit amet, consectetur."),
        "c4_quality.curly_bracket": (F, "\n".join([GOOD] * 3 + ["A line with { bracket in it."])),
        "c4_quality.too_few_sentences": (F, GOOD),
        "c4_quality.empty": (C4Quality(min_num_sentences=0), "no end mark"),
    }
    for reason, (f, text) in cases.items():
        assert check(text, f).reason == reason
    assert sorted(cases) == sorted(F.reasons)


def test_empty_and_non_english_documents():
    assert check("").reason == "c4_quality.too_few_sentences"
    chinese = "\n".join(["这是一个中文句子。"] * 5)  # one whitespace word per line
    assert check(chinese).signals["no_terminal_punct_lines"] == 5  # "。" is no end mark
    german = "\n".join(["Das ist ein ganz normaler deutscher Satz."] * 3)
    assert check(german).keep


@pytest.mark.parametrize(
    "line,expected",
    [
        ("One. Two! Three?", 3),
        ("Dr. Smith met J. Doe at 5 p.m. today.", 1),
        ("It works, e.g. here, i.e. there.", 1),
        ('He said "hi." Then he left.', 2),
        ("No terminal mark", 1),
        ("Wait... what?", 2),
    ],
)
def test_count_sentences(line, expected):
    assert count_sentences(line) == expected


def test_parameters_are_validated():
    with pytest.raises(ValueError):
        C4Quality(min_words_per_line=-1)
    with pytest.raises(ValueError):
        C4Quality(policy_substrings=("Cookie",))


def test_very_long_text_completes():
    text = (GOOD + "\n") * 50_000
    assert len(text) > 2_000_000
    assert check(text).keep


def test_does_not_mutate_and_pickles():
    d = doc("\n".join([GOOD] * 3 + ["short"]))
    v = F(d)
    assert d.text.endswith("short") and v.doc.text == "\n".join([GOOD] * 3)
    assert pickle.loads(pickle.dumps(F)) == F


# --- datatrove's reading (the fineweb preset) --------------------------------------------
def test_spacy_sentences_count_as_datatrove():
    # spaCy's sentencizer: "Dr." is one token (no sentence end); "3." before "Then" ends one.
    line = "Dr. Smith arrived at 3. Then he left early."
    assert count_sentences(line) == 2
    f = C4Quality(sentences="spacy_en", min_num_sentences=2)
    assert check(line, f).signals["sentences"] == 2
    # punkt-like regex vs sentencizer disagree here: "e.g." is one spaCy token, no sentence end
    line = "Fruit, e.g. apples and pears, is good. It keeps you well."
    assert C4Quality(sentences="spacy_en").rewrite(line)[1]["sentences"] == 2


def test_words_counted_before_citations_and_their_space_kept():
    line = "Bar baz [1]"  # 3 words with the citation, 2 without
    f = C4Quality(filter_no_terminal_punct=False, min_words_per_line=3, min_num_sentences=0)
    assert check(line, f).reason == "c4_quality.empty"  # the line goes: 2 words < 3
    dt = C4Quality(filter_no_terminal_punct=False, min_words_per_line=3, min_num_sentences=0,
                   recount_after_citations=False)
    text, signals = dt.rewrite(line + "\nAnother line of words here")
    assert text == "Bar baz \nAnother line of words here"  # datatrove keeps the space
    assert signals["lines_kept"] == 2


def test_reading_parameter_is_validated():
    with pytest.raises(ValueError, match="sentences"):
        C4Quality(sentences="punkt")


def test_spacy_sentences_are_the_sum_over_the_kept_lines_of_their_count():
    # C4 slices each line's chunks from the text's split (spacy_en); the count must be the one
    # count_sentences gives each kept line alone, whatever the whitespace around and inside it.
    import random

    from webrefine.filters import spacy_en_tokens

    import sys

    # what the slicing relies on: every whitespace character but " " is unprintable
    assert not [i for i in range(sys.maxunicode + 1) if chr(i).isspace() and chr(i).isprintable() and chr(i) != " "]
    rng = random.Random(4)
    words = ["Dr.", "Smith", "went", "home.", "It", "rained!", "(Really?)", "\u201cYes.\u201d", "e.g.", "end...",
             "x", "[1]", "[edit]", "a-b", "U.S.", "3.5", "Ok.", "\u00ad", "\u200b", "no", "way"]
    seps = [" ", " ", " ", " ", "  ", "\t", "\u00a0", " \u00a0 ", "\u2009"]
    c4 = C4Quality(sentences="spacy_en", recount_after_citations=False, filter_no_terminal_punct=False,
                   min_num_sentences=0, min_words_per_line=3)
    for _ in range(2_000):
        lines = []
        for _ in range(rng.randint(1, 8)):
            parts = [rng.choice(words) for _ in range(rng.randint(0, 9))]
            line = "".join(p + rng.choice(seps) for p in parts)
            lines.append(rng.choice(["", " ", "\t"]) + line + rng.choice(["", " ", "\r"]))
        text = rng.choice(["\n", "\n\n", " \n"]).join(lines)
        new_text, signals = c4.rewrite(text)
        kept = new_text.split("\n") if new_text else []
        assert signals["lines_kept"] == len(kept)
        assert signals["sentences"] == sum(spacy_en_tokens.count_sentences(line) for line in kept), repr(text)
