"""Entities and content kept: the source's names and non-Latin spans must be in the output
(copied, lightly adapted, or, when a back-translation is at hand, translated and back)."""

from __future__ import annotations

from difflib import SequenceMatcher

from mt_aug.quality.text import Name, fold, names, non_latin_spans, words


def _present(word: str, pool: set[str]) -> bool:
    """A source word is in the output as is, or adapted ("Pulaski" / "Pułaski", "Normans" / "normandos")."""
    w = fold(word)
    if w in pool:
        return True
    if len(w) < 4:
        return False
    for o in pool:
        if len(o) >= 3 and (o.startswith(w[:5]) and len(w) >= 5 or SequenceMatcher(None, w, o).ratio() >= 0.75):
            return True
    return False


def lost_names(source: str, output: str, back: str | None = None) -> list[Name]:
    """The source's names of which no word reached the output (nor the back-translation)."""
    pool = {fold(w) for w in words(output)}
    back_pool = {fold(w) for w in words(back)} if back else set()
    lost = []
    for n in names(source):
        if any(_present(w, pool) for w in n.words):
            continue
        if back_pool and all(fold(w) in back_pool for w in n.words):
            continue  # translated ("Warsaw" -> "Varsóvia" -> "Warsaw")
        lost.append(n)
    return lost


def lost_non_latin(source: str, output: str) -> list[str]:
    out = output.casefold()
    return [s for s in non_latin_spans(source) if s.casefold() not in out]
