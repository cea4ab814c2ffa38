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
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import (
    EN_FUNCTION,
    WORD,
    Name,
    fold,
    is_latin_word,
    names,
    non_latin_glosses,
    non_latin_runs,
    present,
    word_pool,
    words,
    zipf,
)

if TYPE_CHECKING:
    from mt_aug.quality.lexicon import Lexicon

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


_RUN_BREAK = re.compile(r"[^\s\-]")


def _capitalized_runs(text: str, first: bool = False, punctuation_breaks: bool = False) -> list[list[str]]:
    """Runs of capitalized words of a text, not counting the first word of a sentence
    (unless `first`: the source starts with a name, so may its translation).
    `punctuation_breaks`: a run also ends at punctuation ("Smith (Londres" is two runs)."""
    runs: list[list[str]] = []
    current: list[str] = []
    prev_end = 0
    for i, m in enumerate(WORD.finditer(text)):
        w = m.group(0)
        # the text between the previous word and this one (a word ends before it, so the sentence
        # end, if any, lies wholly inside it)
        gap, prev_end = text[prev_end:m.start()], m.end()
        initial = (i > 0 or not first) and (i == 0 or bool(_SENTENCE_OPENS.search(gap)))
        if punctuation_breaks and current and _RUN_BREAK.search(gap):
            runs.append(current)
            current = []
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
    t = re.sub(r"['’]s\b", "", _PAREN.sub(" ", translation)).strip()
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
    """The source's runs of a non-Latin script missing from the output, but for glosses: a
    name in its own script in parentheses after its romanized form ("Moscow (Russian:
    Москва)") may go while the romanized name stays (the name check looks after that one)."""
    out = output.casefold()
    glosses = non_latin_glosses(source)
    return [s for s, _, _ in non_latin_runs(source) if s not in glosses and s.casefold() not in out]


def _skeleton(word: str) -> str:
    """A word without its non-ASCII letters and apostrophes, casefolded ("Dvořák" -> "dvok",
    "S'ren" -> "sren"): what is left of a name whose accented letters were lost."""
    return "".join(c for c in word.casefold() if c.isascii() and c not in "'’")


def changed_names(source: str, output: str) -> list[tuple[str, str]]:
    """Source words with accented or other non-ASCII Latin letters ("Dvořák", "Søren",
    "Gdańsk") that reach the output only with those letters lost or turned into an apostrophe
    ("Dvoák", "S'ren", "Gdansk"): (source word, output word) pairs. A word written in the
    output as in the source (case aside) is kept; a translated form ("Zürich" -> "Zurique") is
    no copy and is left to the name check."""
    src = [w for w in words(source) if not w.isascii() and is_latin_word(w)]
    if not src:
        return []
    out = words(output)
    exact = {unicodedata.normalize("NFC", w).casefold() for w in out}
    found = []
    for w in dict.fromkeys(src):
        if unicodedata.normalize("NFC", w).casefold() in exact:
            continue
        sk, fw = _skeleton(w), fold(w)
        for o in out:
            if (fold(o) == fw) or (len(sk) >= 3 and _skeleton(o) == sk and len(o) < len(w) + 2):
                if not _accent_swapped(w, o):
                    found.append((w, o))
                break
    return found


def _accent_swapped(word: str, other: str) -> bool:
    """`other` is `word` with some accented letters written with another accent ("Compiègne" ->
    "Compiégne"): as long, and a non-ASCII letter wherever `word` has one. No letter is lost."""
    a, b = unicodedata.normalize("NFC", word), unicodedata.normalize("NFC", other)
    return len(a) == len(b) and all(y.isalpha() and not y.isascii() for x, y in zip(a, b, strict=True)
                                    if not x.isascii())


# Words that stay lowercase inside a title written in title case ("Game of Thrones").
_TITLE_LINKS = frozenset({"of", "the", "and", "in", "on", "a", "an", "to", "for", "de", "la"})
# Particles of English phrasal verbs: the word before one is a verb ("break up", "stand for"),
# no word of a name, in a lowercase question ("when did the beatles break up").
_PARTICLES = frozenset({"up", "down", "out", "off", "away", "back", "for", "over"})


def _lowercase_runs(source: str, tgt: str, min_zipf: float) -> list[list[str]]:
    """Runs of content words of a text without a capital letter (a web query, a question typed
    in lowercase), each word one the target language's own text uses (wordfreq
    Zipf >= `min_zipf` in `tgt`: English words a Portuguese text writes are mostly names,
    "rolling", "stones", "bull"), and no verb of a phrasal verb ("break" of "break up")."""
    ws = words(source)
    if len(ws) < 3 or any(c.isupper() for c in source):
        return []
    runs: list[list[str]] = []
    current: list[str] = []
    for i, w in enumerate(ws):
        lw = w.lower()
        verb = i + 1 < len(ws) and ws[i + 1].lower() in _PARTICLES
        if lw.isalpha() and lw not in EN_FUNCTION and len(lw) >= 3 and zipf(lw, tgt) >= min_zipf and not verb:
            current.append(lw)
        elif current and lw in _TITLE_LINKS and current[-1] not in _TITLE_LINKS:
            current.append(lw)
        else:
            runs.append(current)
            current = []
    runs.append(current)
    out = []
    for r in runs:
        while r and r[-1] in _TITLE_LINKS:
            r = r[:-1]
        if sum(w not in _TITLE_LINKS for w in r) >= 2:
            out.append(r)
    return out


def title_case(ws: list[str]) -> str:
    return " ".join(w if i and w in _TITLE_LINKS else w[:1].upper() + w[1:] for i, w in enumerate(ws))


def lowercase_spans(source: str, tgt: str, min_zipf: float, max_spans: int = 6) -> list[str]:
    """The title-cased spans of 2-3 content words of a lowercase text (`_lowercase_runs`) to
    translate alone: a span the model copies when it is written as a title is a name
    ("Rolling Stones" -> "Rolling Stones"; "Sky Blue" -> "Céu Azul" is not one)."""
    out: list[str] = []
    for r in _lowercase_runs(source, tgt, min_zipf):
        for n in (2, 3):
            for i in range(len(r) - n + 1):
                part = r[i:i + n]
                if part[0] in _TITLE_LINKS or part[-1] in _TITLE_LINKS:
                    continue
                out.append(title_case(part))
    return list(dict.fromkeys(out))[:max_spans]


def lost_lowercase(source: str, output: str, translated: Mapping[str, str], tgt: str, min_zipf: float) -> list[str]:
    """Names written in lowercase (a band, a title, a brand in a web query) that the output
    translated as ordinary words: a span of `lowercase_spans` whose own translation, title-cased,
    copies every word (the model reads it as a name), with a word missing from the output."""
    pool = word_pool(output)
    lost = []
    for span in lowercase_spans(source, tgt, min_zipf):
        t = translated.get(span)
        if t is None:
            continue
        content = [fold(w) for w in words(span) if w.lower() not in _TITLE_LINKS]
        if all(w in word_pool(t) for w in content) and not all(w in pool for w in content):
            lost.append(span.lower())
    # "red bull" and "red bull bad": one name, once (the shorter)
    return [s for s in lost if not any(s != o and o in s for o in lost)]


# A currency's prefix ("US$", "R$", "US $"): no name.
_CURRENCY = re.compile(r"\b([A-Z]{1,3})\s?[$€£¥]")


_ROMAN_NUMERAL = re.compile(r"[IVXLCDM]+")
_POSSESSIVE = re.compile(r"['’]s$")
_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}")


def lowercase_word_spans(source: str, max_spans: int = 16) -> list[str]:
    """For a text without capitals (`lowercase_text`), its content words and pairs of them written
    as names ("scotland" -> "Scotland", "uk" -> "UK", "new york" -> "New York"), to translate alone:
    the names a lowercase source may hold, for the added-content signal ("escócia" for
    "scotland" is no invented name). [] for other texts."""
    if not lowercase_text(source):
        return []
    def content(w: str) -> bool:
        return w.isalpha() and w not in EN_FUNCTION and len(w) >= 2

    def cased(w: str) -> str:
        return w.upper() if len(w) == 2 else w.capitalize()  # "uk" -> "UK"

    ws = words(source)
    one = [x for w in ws if content(w) for x in ([cased(w), w.upper()] if len(w) == 3 else [cased(w)])]  # "usa"
    two = [f"{cased(a)} {cased(b)}" for a, b in zip(ws, ws[1:], strict=False) if content(a) and content(b)]
    return list(dict.fromkeys(one + two))[:max_spans]


def names_and_first(source: str) -> list[Name]:
    """The source's names, and its first word when it is capitalized and no function word
    (`names` leaves a lone sentence-initial word out: "Spain ceded Florida ...")."""
    found = list(names(source))
    ws = words(source)
    if ws and ws[0][:1].isupper() and ws[0].lower() not in EN_FUNCTION and not any(ws[0] in n.words for n in found):
        found.insert(0, Name((_POSSESSIVE.sub("", ws[0]),), ws[0]))
    return found


def unmatched_names(source: str, output: str, translated: Mapping[str, str] | None, tgt: str) -> list[Name]:
    """The source's names (and capitalized first word) with no word in the output and no own
    translation wholly there (every content word of it)."""
    pool = word_pool(output)
    return [n for n in names_and_first(source) if not any(present(w, pool) for w in n.words)
            and not (translated is not None and n.span in translated
                     and translated_kept(translated[n.span], output, pool, tgt, 1.0))]


def unaccounted_runs(source: str, output: str, translated: Mapping[str, str] | None, lexicon: Lexicon,
                     tgt: str = "pt") -> list[list[str]]:
    """Runs of capitalized words of the output (punctuation ends a run; sentence openings,
    function words and roman numerals do not count) none of whose words is a word of the
    source, a source name's own translation (`translated`), like a source word, or a common
    word the model's lexicon gives for a common source word ("Estados-Membros" of "member
    states")."""
    found = names_and_first(source)
    src_words = {_POSSESSIVE.sub("", w) for w in word_pool(source)}
    name_pool = {fold(x) for n in found for x in n.words} | src_words
    if translated is not None:  # "Warsaw's" alone -> "Varsóvia's"
        spans = [n.span for n in found] + lowercase_word_spans(source)
        name_pool |= {_POSSESSIVE.sub("", fold(x)) for s in spans for x in words(translated.get(s, ""))}
    # the lexicon of the source's common words only: a name's shortlist is noise (alignments
    # of words that co-occur: "Smith" lists "Londres")
    common = " ".join(w for w in words(source) if not w[:1].isupper())
    currency = {m.group(1) for m in _CURRENCY.finditer(output)}
    stop = FUNCTION_WORDS.get(tgt, frozenset())

    def accounted(w: str) -> bool:
        f = fold(w)
        if f in name_pool or any(c.isdigit() for c in w) or len(f) < 2 or w in currency or f in stop:
            return True
        if _ROMAN_NUMERAL.fullmatch(w):
            return True  # "século XIX": a number, the number signal's
        if present(w, name_pool) or any(present(s, {f}) for s in name_pool if len(s) >= 4):
            return True
        return lexicon.explains(common, w)

    return [r for r in _capitalized_runs(output, False, punctuation_breaks=True) if not any(accounted(w) for w in r)]


def added_names(source: str, output: str, translated: Mapping[str, str] | None, lexicon: Lexicon,
                tgt: str = "pt") -> list[str]:
    """Names in the output with no counterpart in the source (an invented birthplace, "(born 3
    March 1961)" -> "(Londres, 3 de março de 1961)"): the output's runs no source word accounts
    for (`unaccounted_runs`), more of them than the source has names the output lacks (each
    may stand for one; a name whose own translation is wholly in the output, "English" ->
    "inglês", stands for none)."""
    runs = unaccounted_runs(source, output, translated, lexicon, tgt)
    if not runs:
        return []
    # dotted acronyms ("U.S." -> "EUA") are names too, for this count
    dotted = [a for a in _DOTTED.findall(source) if a.replace(".", "") not in output]
    missing = len(unmatched_names(source, output, translated, tgt)) + len(dotted)
    excess = len(runs) - missing
    return [" ".join(r) for r in runs[-excess:]] if excess > 0 else []


def lowercase_text(text: str) -> bool:
    """A text with letters but no capital letter (a web query, a question typed in lowercase)."""
    return not any(c.isupper() for c in text) and any(c.isalpha() for c in text)


class Entities(Signal):
    """`quality.entities`: "entity lost" (names, non-Latin spans and lowercase names of the source
    missing from the output) and "name changed" (a copied name's accented letters lost). For a
    target in another script only a back-translation can tell a transliterated name from a
    lost one: there it runs where the round-trip gives one."""

    name = "entities"
    version = 2
    reasons = ("entity lost", "name changed")

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"names"}) if self.cfg.translate and self.target.latin else frozenset()

    def name_spans(self, source: str, text: str) -> Iterable[str]:
        yield from spans_to_translate(source, text)
        if self.cfg.lowercase:
            yield from lowercase_spans(source, self.target.tgt, self.cfg.lowercase_min_zipf)

    def check(self, case: Case) -> None:
        cfg, tgt, latin = self.cfg, self.target.tgt, self.target.latin
        source, text, named = case.source, case.text, case.spans
        lost = [n for n in lost_names(source, text, case.back, named, tgt, cfg.translated_min_share)
                if len(n.words) >= cfg.min_words] if latin or case.back is not None else []
        lost_nl = lost_non_latin(source, text) if latin else []
        lowered = lost_lowercase(source, text, named, tgt, cfg.lowercase_min_zipf) \
            if named is not None and cfg.lowercase else []
        if len(lost) + len(lost_nl) + len(lowered) > cfg.max_lost:
            case.fail("entity lost", f"lost {[n.text for n in lost] + lost_nl + lowered}")
        changed = changed_names(source, text) if latin and cfg.accents else []
        if changed:
            case.fail("name changed", f"changed {[f'{a} -> {b}' for a, b in changed]}")


class AddedContent(Signal):
    """`quality.added_content`: names in the output with no counterpart in the source (Latin-script
    targets, with the model's lexicon). A source written without capitals (a web query, a
    question typed in lowercase) has its names in lowercase, and the output writes them with
    capitals ("flights to london" -> "voos para Londres"): its words are looked up as names
    (`lowercase_word_spans`), and a capitalized run that none of their translations accounts for
    is added ("flights from paris" -> "voos a partir de Lisboa"); without look-ups it is not judged."""

    name = "added_content"
    version = 2
    reasons = ("added content",)
    uses = frozenset({"lexicon"})

    @property
    def active(self) -> bool:
        return super().active and self.target.latin

    def name_spans(self, source: str, text: str) -> Iterable[str]:
        # runs of the output no source word accounts for: are they the source's names, translated?
        lexicon = self.target.lexicon
        if lexicon is not None and unaccounted_runs(source, text, None, lexicon, self.target.tgt):
            pool = word_pool(text)
            yield from (n.span for n in names_and_first(source) if not all(present(w, pool) for w in n.words))
            yield from lowercase_word_spans(source)  # a lowercase source's names: any of its words

    def check(self, case: Case) -> None:
        assert self.target.lexicon is not None  # active only with one
        if case.spans is None and lowercase_text(case.source):
            return  # its names have no capitals, and none was looked up: nothing tells them from added ones
        added = added_names(case.source, case.text, case.spans, self.target.lexicon, self.target.tgt)
        if added:
            case.fail("added content", f"added {added}")
