"""The cheap structural signals: empty output, length limit hit, degenerate repetition, length ratio."""

from __future__ import annotations

import re
from collections import Counter

from mt_aug import languages

_LETTER = re.compile(r"\w", re.UNICODE)


def is_empty(source: str, output: str) -> bool:
    text = output.strip()
    return not text or (not _LETTER.search(text) and bool(_LETTER.search(source)))


def repeat_fraction(text: str, lang: str) -> float:
    """Share of the text taken by its most repeated token 3-gram (or token, for short text)."""
    toks = text.split() if languages.is_spaced(lang) else list(text.replace(" ", ""))
    if len(toks) < 8:
        return 0.0
    grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    top = Counter(grams).most_common(1)[0][1]
    if top < 3:
        return 0.0
    return top * 3 / len(toks)


def length_ratio(source: str, output: str) -> float:
    return len(output.strip()) / max(len(source), 1)
