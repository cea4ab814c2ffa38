"""Entities and content kept: the source's names and non-Latin spans must be in the output
(copied, lightly adapted, translated as a name of its own, or, when a back-translation is at
hand, translated and back).

Without a back-translation a translated name ("United Kingdom" -> "Reino Unido") cannot be
matched word for word; it still reads as a name in a Latin-script output (capitalized words
after the first). So: source names matched by their words first; the rest are lost only when
the output has fewer capitalized words of its own than the source has unmatched names."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from mt_aug.quality.text import WORD, Name, fold, is_latin_word, names, non_latin_spans, words

# Capitalized English words a Latin-script target writes in lowercase: months, days, and
# adjectives of nationality, language or religion ("French" -> "francês").
_LOWERCASED = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays "
    "greek norse scots welsh dutch french irish swiss thai czech arab arabs muslim muslims jew jews christian "
    "christians catholic catholics protestant protestants sunni shia shiite hindu buddhist earth sun moon god "
    "lord pope king queen prince president church thesis anniversary big bc ad bce ce".split()
)
_ADJECTIVE = re.compile(r"(?:ian|ians|ean|an|ans|ish|ese|ic|ics|i|is|ist|ists|ism|ite|ites|ch|ine|al)$")


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


def _lowercased_in_target(n: Name) -> bool:
    """A name of words a Latin-script target writes in lowercase (months, days, demonyms,
    religions; one-word adjectives of nationality by their ending): it is not a lost name
    when no capitalized run stands for it."""
    ws = [w.lower() for w in n.words]
    if all(w in _LOWERCASED for w in ws):
        return True
    return len(ws) == 1 and bool(_ADJECTIVE.search(ws[0]))


def _capitalized_runs(text: str, first: bool = False) -> list[list[str]]:
    """Runs of capitalized words of a text, not counting the first word of a sentence
    (unless `first`: the source starts with a name, so may its translation)."""
    runs: list[list[str]] = []
    current: list[str] = []
    for i, m in enumerate(WORD.finditer(text)):
        w = m.group(0)
        initial = (i > 0 or not first) and (i == 0 or bool(re.search(r"[.!?:;]\s*[\"'«“(]?\s*$", text[: m.start()])))
        if w[:1].isupper() and not initial:
            current.append(w)
        elif current and w.lower() in {"de", "da", "do", "das", "dos", "e", "of", "la", "del", "di", "von", "van"}:
            continue
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def lost_names(source: str, output: str, back: str | None = None) -> list[Name]:
    """The source's names that did not reach the output."""
    pool = {fold(w) for w in words(output)}
    back_pool = {fold(w) for w in words(back)} if back else set()
    back_acronyms = {w for w in words(back or "") + words(output) if w.isupper() and len(w) >= 2}
    found = names(source)
    first_word = next(iter(words(source)), "")
    starts_with_name = any(n.words[0] == first_word for n in found)
    name_pool = {fold(x) for n in found for x in n.words}
    # the output's capitalized runs that no source name word accounts for
    unmatched = [w for r in _capitalized_runs(output, starts_with_name) for w in r if fold(w) not in name_pool]
    candidates = []
    for n in found:
        if any(_present(w, pool) for w in n.words):
            continue
        if back is not None:
            initials = "".join(w[0] for w in n.words if w[:1].isupper())
            if any(fold(w) in back_pool for w in n.words) or (len(initials) >= 2 and initials in back_acronyms):
                continue  # translated and back ("Warsaw" -> "Varsóvia" -> "Warsaw", "United Kingdom" -> "UK")
        if _lowercased_in_target(n):
            continue
        candidates.append(n)
    # names translated as names still show as capitalized runs in the output
    excess = len(candidates) - len(unmatched)
    return candidates[:excess] if excess > 0 else []


def lost_non_latin(source: str, output: str) -> list[str]:
    out = output.casefold()
    return [s for s in non_latin_spans(source) if s.casefold() not in out and not is_latin_word(s)]
