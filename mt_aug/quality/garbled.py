"""Garbled output: a phrase the model stutters ("de nobreza e descida e descida e descida"),
and words that are no word of the target language ("huguenotenot", "tamanhoizáveis"; for the
targets of `UNKNOWN_WORDS_LANGUAGES`).

Word validity is `wordfreq`'s word list of the target language (zipf frequency 0: not in the
list). Rare technical words are often missing from it too, and a translation adapts them from
the source ("thylakoids" -> "tilacoides"), so an unknown word counts only when it is not such an
adaptation: it stutters inside ("cloroplaplasidano") or resembles no source word at all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher

from mt_aug import languages
from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import fold, word_pool, words, zipf

_STUTTER = re.compile(r"(\w{3,})\1", re.UNICODE)


def _tandem(ws: list[str]) -> str | None:
    """The first phrase of 2-5 words said twice in a row (one word between the two at most)
    with a word of 4 letters or more."""
    for n in (2, 3, 4, 5):
        for i in range(len(ws) - 2 * n + 1):
            gram = ws[i : i + n]
            if any(len(w) >= 4 for w in gram) and (ws[i + n : i + 2 * n] == gram or ws[i + n + 1 : i + 2 * n + 1] == gram):
                return " ".join(gram)
    return None


def repeated_phrase(source: str, output: str) -> str | None:
    """A phrase of 2-5 words the output says twice in a row (one word between the two at
    most, a word of 4 letters or more in it), when the source repeats no phrase so itself
    ("step by step, step by step") and does not hold the phrase: a name and its gloss in the
    target language, translated into the gloss ("Christ the Redeemer (Cristo Redentor)" ->
    "Cristo Redentor (Cristo Redentor)"), say the source's own words twice."""
    found = _tandem([fold(w) for w in words(output)])
    folded = [fold(w) for w in words(source)]
    if found is None or _tandem(folded) is not None or f" {found} " in f" {' '.join(folded)} ":
        return None
    return found


# Targets whose unknown-word check was measured on labelled output (BENCHMARKS.md). A language
# joins after its own measurement: compounds (de), other scripts (ru, ar: every transliterated
# name resembles no source word) and thin word lists would make it misfire unmeasured.
UNKNOWN_WORDS_LANGUAGES = frozenset({"pt"})


def checks_words(lang: str) -> bool:
    """The unknown-word check runs for the language (wordfreq has lists for all of them)."""
    return lang in UNKNOWN_WORDS_LANGUAGES


# Productive derivations of a target language: (suffix, what replaces it in the base word). A word
# the word list lacks whose base it has is a derivation ("ocidentalizadores" of "ocidentalizar"),
# not garbage ("tamanhoizáveis": no "tamanhoizar"). PREFIXES: the same before a word of the list
# ("antiestrangeira" of "estrangeira"; "desobir": no "obir").
DERIVATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "pt": (("adores", "ar"), ("adoras", "ar"), ("ador", "ar"), ("adora", "ar"), ("edores", "er"), ("edor", "er"),
           ("idores", "ir"), ("idor", "ir"), ("ações", "ar"), ("ação", "ar"), ("áveis", "ar"), ("ável", "ar"),
           ("íveis", "ir"), ("ível", "ir"), ("izados", "izar"), ("izadas", "izar"), ("izado", "izar"),
           ("izada", "izar"), ("mente", ""), ("ismos", "ismo"), ("istas", "ista")),
}


PREFIXES: dict[str, tuple[str, ...]] = {
    "pt": ("anti", "contra", "des", "pré", "pre", "pós", "pos", "re", "sub", "super", "inter", "auto", "neo",
           "semi", "multi", "micro", "macro", "ultra", "hiper", "co", "ex", "trans", "pseudo", "proto", "mono",
           "poli", "bi", "tri"),
}


def derived(word: str, lang: str) -> bool:
    """A word formed from a word of the target's word list by a productive suffix or prefix
    (the base of 4 letters or more)."""
    w = word.lower()
    for suffix, base in DERIVATIONS.get(lang, ()):
        if w.endswith(suffix) and len(w) > len(suffix) + 3 and zipf(w[: -len(suffix)] + base, lang) > 0:
            return True
    return any(w.startswith(p) and len(w) >= len(p) + 4 and zipf(w[len(p):].lstrip("-"), lang) > 0
               for p in PREFIXES.get(lang, ()))


def misaccented(word: str, lang: str) -> bool:
    """A word of the target's list written with a wrong or missing accent ("Sinfônia" for
    "sinfonia"): a spelling slip, not garbage. Folded, it is a word of the list."""
    return not word.isascii() and zipf(fold(word), lang) > 0


def unknown_words(source: str, output: str, lang: str, max_similarity: float) -> list[str]:
    """Output words that are neither in the target language's word list nor copied from the
    source, and that either stutter inside or resemble no source word (the best
    `difflib` ratio of the folded words below `max_similarity`). Words with digits and words
    of fewer than 4 letters do not count."""
    src = word_pool(source)
    found = []
    for w in words(output):
        f = fold(w)
        if len(w) < 4 or any(c.isdigit() for c in w) or f in src or zipf(w, lang) > 0:
            continue
        if not _STUTTER.search(f) and (derived(w, lang) or misaccented(w, lang)):
            continue
        if _STUTTER.search(f) or not _resembles(f, src, max_similarity):
            found.append(w)
    return found


def _resembles(word: str, others: Iterable[str], min_ratio: float) -> bool:
    """Some word of `others` has a difflib ratio of at least `min_ratio` with `word` (the cheap
    upper bounds first)."""
    sm = SequenceMatcher(None, b=word)
    for o in others:
        sm.set_seq1(o)
        if sm.real_quick_ratio() >= min_ratio and sm.quick_ratio() >= min_ratio and sm.ratio() >= min_ratio:
            return True
    return False


class Garbled(Signal):
    """`quality.garbled`: a phrase said twice in a row, or (for `UNKNOWN_WORDS_LANGUAGES`) words
    that are no word of the target language; targets written with spaces."""

    name = "garbled"
    version = 2
    reasons = ("garbled",)

    @property
    def active(self) -> bool:
        return self.enabled and languages.is_spaced(self.target.tgt)

    def check(self, case: Case) -> None:
        phrase = repeated_phrase(case.source, case.text)
        odd = unknown_words(case.source, case.text, self.target.tgt, self.cfg.max_similarity) \
            if checks_words(self.target.tgt) else []
        if phrase is not None or odd:
            case.fail("garbled", f"repeated {phrase!r}" if phrase is not None else f"unknown words {odd}")
