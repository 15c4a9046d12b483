"""Write spaCy's English tokenizer rules to ``filters/data/spacy_en_tokenizer.json``.

``filters/spacy_en_tokens.py`` reproduces the token boundaries of ``spacy.blank("en")`` (what
datatrove, and so FineWeb, counts as words) without spaCy: it needs spaCy's rules, which are
data: the prefix, suffix, infix and URL regexes (Python ``re`` patterns, as spaCy compiles
them) and the special cases (tokenizer exceptions: "don't" -> "do", "n't"). This script copies
them out of an installed spaCy (MIT licence; spaCy is not a dependency of webrefine). Run it
where spaCy is installed (the environment of ``scripts/record_fineweb_reference.py``):

    DT_VENV/bin/python scripts/dump_spacy_en_tokenizer.py
"""
from __future__ import annotations

import json
import os

import spacy
from spacy.attrs import ORTH

OUT = os.path.join(os.path.dirname(__file__), "..", "filters", "data", "spacy_en_tokenizer.json")


def main() -> None:
    tok = spacy.blank("en").tokenizer
    assert tok.token_match is None, "English has no token_match; the emulation assumes none"
    specials = {}
    matcher = []
    for key, subs in sorted(tok.rules.items()):
        if not key.strip():  # whitespace special cases: whitespace never reaches the rules here
            continue
        orths = [s[ORTH] for s in subs]
        specials[key] = orths
        # spaCy also finds these special cases across affix splits (its special matcher), for
        # the keys holding an affix (faster_heuristics=True)
        if tok.find_prefix(key) or tok.find_infix(key) or tok.find_suffix(key):
            matcher.append(key)
    data = {
        "spacy_version": spacy.__version__,
        "licence": "spaCy (MIT licence, Copyright (C) 2016-2024 ExplosionAI GmbH): tokenizer rules of spacy.blank('en')",
        "prefix": tok.prefix_search.__self__.pattern,
        "suffix": tok.suffix_search.__self__.pattern,
        "infix": tok.infix_finditer.__self__.pattern,
        "url": tok.url_match.__self__.pattern,
        "specials": specials,
        "matcher_keys": matcher,
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=0, sort_keys=True)
        fh.write("\n")
    print(f"spaCy {spacy.__version__}: {len(specials)} special cases, {len(matcher)} matched across affixes -> {OUT}")


if __name__ == "__main__":
    main()
