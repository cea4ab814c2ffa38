"""Entities and content kept: the source's names and non-Latin spans must be in the output
(copied, lightly adapted, translated as the model translates the name alone, or, when a
back-translation is at hand, translated and back).

A translated name ("United Kingdom" -> "Reino Unido") cannot be matched word for word: the
gate translates the name's span alone through the same engine and cache (`spans_to_translate`,
`Gate.judge(spans=...)`) and looks for that. A name translated otherwise in context still reads
as a name in a Latin-script output (capitalized words after the first). So: source names
matched by their words or their own translation first; the rest are lost only when the output
has fewer capitalized words of its own than the source has unmatched names."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mt_aug.quality.text import WORD, Name, fold, is_latin_word, names, non_latin_spans, present, word_pool, words

# Capitalized English words a Latin-script target writes in lowercase: months, days, and
# adjectives of nationality, language or religion ("French" -> "francês").
_LOWERCASED = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays "
    "greek norse scots welsh dutch french irish swiss thai czech arab arabs muslim muslims jew jews christian "
    "christians catholic catholics protestant protestants sunni shia shiite hindu buddhist earth sun moon god "
    "lord pope king queen prince president church thesis anniversary big bc ad bce ce".split()
)
# Months and days: written in lowercase by a Latin-script target, but their own translation
# ("October" -> "outubro") tells whether they are there.
_CALENDAR = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)
_ADJECTIVE = re.compile(r"(?:ian|ians|ean|an|ans|ish|ese|ic|ics|i|is|ist|ists|ism|ite|ites|ch|ine|al)$")


def _lowercased_in_target(n: Name) -> bool:
    """A name of words a Latin-script target writes in lowercase (months, days, demonyms,
    religions; one-word adjectives of nationality by their ending): it is not a lost name
    when no capitalized run stands for it."""
    ws = [w.lower() for w in n.words]
    if all(w in _LOWERCASED for w in ws):
        return True
    return len(ws) == 1 and bool(_ADJECTIVE.search(ws[0]))


def _unchecked_lowercase(n: Name, looked_up: bool) -> bool:
    """A name the target writes in lowercase that can't be looked up: months and days can,
    by their own translation, when there is one (`looked_up`)."""
    if looked_up and all(w.lower() in _CALENDAR for w in n.words):
        return False
    return _lowercased_in_target(n)


_SENTENCE_OPENS = re.compile(r"[.!?:;]\s*[\"'«“(]?\s*$")


def _capitalized_runs(text: str, first: bool = False) -> list[list[str]]:
    """Runs of capitalized words of a text, not counting the first word of a sentence
    (unless `first`: the source starts with a name, so may its translation)."""
    runs: list[list[str]] = []
    current: list[str] = []
    prev_end = 0
    for i, m in enumerate(WORD.finditer(text)):
        w = m.group(0)
        # the text between the previous word and this one (a word ends before it, so the sentence
        # end, if any, lies wholly inside it)
        gap, prev_end = text[prev_end:m.start()], m.end()
        initial = (i > 0 or not first) and (i == 0 or bool(_SENTENCE_OPENS.search(gap)))
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


# Function words of a target language, not required when a name's own translation is looked
# for in the output ("Povos do Mar": "povos", "mar"). A language adds its own list here.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "pt": frozenset("o a os as um uma uns umas de do da dos das em no na nos nas e ou por pelo pela para "
                    "com ao aos à às que se".split()),
}
_PAREN = re.compile(r"\([^)]*\)")


def spans_to_translate(source: str, output: str) -> list[str]:
    """The source's name spans that `lost_names` looks up translated (`Name.span`): none when
    every name has a word in the output or is one a Latin-script target writes in lowercase,
    months and days aside (nothing can be lost), else every name of the source not wholly in the output, since a
    name's translation also tells which capitalized words of the output it accounts for."""
    pool = word_pool(output)
    hits = [(n, [present(w, pool) for w in n.words]) for n in names(source)]
    if all(any(h) or _unchecked_lowercase(n, True) for n, h in hits):
        return []
    # a name with every word in the output accounts for no other capitalized word
    return [n.span for n, h in hits if not all(h)]


def translated_kept(translation: str, output: str, pool: set[str], tgt: str, min_share: float) -> bool:
    """The name's own translation is in the output: as a whole (its words in a row, case and
    accents aside), or at least `min_share` of its content words (a parenthesis the model
    added left out)."""
    t = _PAREN.sub(" ", translation).strip()
    tw, ow = [fold(w) for w in words(t)], [fold(w) for w in words(output)]
    if tw and any(ow[i : i + len(tw)] == tw for i in range(len(ow) - len(tw) + 1)):
        return True  # the whole translation, word for word
    stop = FUNCTION_WORDS.get(tgt, frozenset())
    content = [w for w in words(t) if fold(w) not in stop and not w.isdigit()]
    if not content:
        return True
    return sum(present(w, pool) for w in content) >= min_share * len(content)


def lost_names(source: str, output: str, back: str | None = None, translated: Mapping[str, str] | None = None,
               tgt: str = "pt", min_share: float = 0.5) -> list[Name]:
    """The source's names that did not reach the output.

    A name is kept when a word of it is in the output, when a back-translation has it, or when
    its own translation (`translated`: name span -> the span translated alone by the same model,
    for the spans of `spans_to_translate`) is in the output. Without those, a name translated
    as a name still shows as capitalized words in a Latin-script output: the rest are lost
    only when the output has fewer capitalized words of its own (not accounted for by the
    source's names or their translations) than the source has unmatched names."""
    pool = word_pool(output)
    back_pool = word_pool(back) if back else frozenset()
    back_acronyms = {w for w in words(back or "") + words(output) if w.isupper() and len(w) >= 2}
    found = names(source)
    first_word = next(iter(words(source)), "")
    starts_with_name = any(n.words[0] == first_word for n in found)
    name_pool = {fold(x) for n in found for x in n.words}
    if translated is not None:
        name_pool |= {fold(x) for n in found for x in words(translated.get(n.span, ""))}
    # the output's capitalized runs that no source name word accounts for
    # (a word copied from the source that is no name there, as "Who" in "Doctor Who", stands for none)
    copied = word_pool(source) - name_pool
    unmatched = [w for r in _capitalized_runs(output, starts_with_name) for w in r
                 if fold(w) not in name_pool and fold(w) not in copied]
    candidates = []
    for n in found:
        if any(present(w, pool) for w in n.words):
            continue
        if back is not None:
            initials = "".join(w[0] for w in n.words if w[:1].isupper())
            if any(fold(w) in back_pool for w in n.words) or (len(initials) >= 2 and initials in back_acronyms):
                continue  # translated and back ("Warsaw" -> "Varsóvia" -> "Warsaw", "United Kingdom" -> "UK")
        if translated is not None and n.span in translated \
                and translated_kept(translated[n.span], output, pool, tgt, min_share):
            continue  # translated as the model translates the name alone ("Sea Peoples" -> "povos do mar")
        if _unchecked_lowercase(n, translated is not None and n.span in translated):
            continue
        candidates.append(n)
    # names translated as names still show as capitalized runs in the output
    excess = len(candidates) - len(unmatched)
    return candidates[:excess] if excess > 0 else []


def lost_non_latin(source: str, output: str) -> list[str]:
    out = output.casefold()
    return [s for s in non_latin_spans(source) if s.casefold() not in out and not is_latin_word(s)]
