"""The cheap structural signals (empty output, length limit hit, degenerate repetition, length
ratio) and the length-loss signal ("content lost")."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from mt_aug import languages
from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import fold, words

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


_PAREN = re.compile(r"\s*\(([^()]{3,300})\)")


def glossed_length(source: str, output: str) -> int:
    """The source's length without the parentheses whose words the output already says outside
    one: a gloss in the target language that is also the name's translation ("Lençóis
    Maranhenses National Park (Parque Nacional dos Lençóis Maranhenses)" -> "O Parque Nacional dos
    Lençóis Maranhenses"), which a translation may leave out."""
    bare = fold(" ".join(words(_PAREN.sub(" ", output))))
    cut = 0
    for m in _PAREN.finditer(source):
        inner = fold(" ".join(words(m.group(1))))
        if len(inner) >= 3 and f" {inner} " in f" {bare} ":
            cut += len(m.group(0))
    return len(source) - cut


class Empty(Signal):
    """An output with no letters where the source has some: always on (no section)."""

    name = "empty"
    reasons = ("empty output",)
    structural = True

    @classmethod
    def section(cls, quality: Any) -> Any:
        return None

    @property
    def enabled(self) -> bool:
        return True

    def settings(self) -> dict[str, Any]:
        return {}

    def check(self, case: Case) -> None:
        if is_empty(case.source, case.text):
            case.fail("empty output")


class LengthLimit(Signal):
    """`quality.length_limit`: output that hit the model's length limit (truncated)."""

    name = "length_limit"
    reasons = ("hit length limit",)
    structural = True

    def check(self, case: Case) -> None:
        if case.hit_length_limit:
            case.fail("hit length limit")


class Repetition(Signal):
    """`quality.repetition`: degenerate repetition."""

    name = "repetition"
    reasons = ("degenerate repetition",)
    structural = True

    def check(self, case: Case) -> None:
        if repeat_fraction(case.text, self.target.tgt) > self.cfg.max_fraction:
            case.fail("degenerate repetition")


class LengthRatio(Signal):
    """`quality.length_ratio`: target/source characters out of the target's band (sources of 10+ characters)."""

    name = "length_ratio"
    reasons = ("length ratio",)
    structural = True

    def settings(self) -> dict[str, Any]:
        return {"band": list(self.cfg.band(self.target.tgt))}

    def check(self, case: Case) -> None:
        if len(case.source) >= 10:
            lo, hi = self.cfg.band(self.target.tgt)
            if not lo <= length_ratio(case.source, case.text) <= hi:
                case.fail("length ratio")


class LengthLoss(Signal):
    """`quality.length_loss`: a large unexplained loss of length ("content lost"); a gloss in the
    target language that the output gives as the translation does not count (`glossed_length`)."""

    name = "length_loss"
    version = 2
    reasons = ("content lost",)

    def settings(self) -> dict[str, Any]:
        return {"threshold": self.cfg.threshold(self.target.tgt), "min_chars": self.cfg.min_chars}

    def check(self, case: Case) -> None:
        if len(case.source) >= self.cfg.min_chars and case.scores["length_ratio"] < self.cfg.threshold(self.target.tgt):
            # a gloss the output says as the name's translation is no lost content
            if len(case.text) / max(glossed_length(case.source, case.text), 1) < self.cfg.threshold(self.target.tgt):
                case.fail("content lost")
