"""Small text helpers shared by the quality signals: words, folding, names copied from a source."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")
_QUOTED = re.compile(r"\"[^\"]{1,120}\"|“[^”]{1,120}”|«[^»]{1,120}»")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")
# Between two words of one name only spaces, an abbreviation's dot, a hyphen or "&" ("St. Mary's", "AT&T").
_NAME_BREAK = re.compile(r"[^\s.\-&]")

# Capitalized English words that start or link names but are not names themselves.
_EN_FUNCTION = frozenset(
    "a an the of and or in on at to for by from with as is was were be are what who whom whose which when "
    "where why how did does do has have had that this these those it its he she they we you i his her their "
    "our my your if but not no after before during since until upon into over under between than then there "
    "here also many much some any all each every one two three four five six seven eight nine ten".split()
)
EN_FUNCTION = _EN_FUNCTION  # for the other signals
# Words that stay lowercase inside a name ("University of Warsaw", "Duke of York").
_NAME_LINKS = frozenset({"of", "the", "de", "da", "do", "von", "van", "der", "del", "la", "le", "du", "and", "&"})


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Casefolded, without diacritics: "Varsóvia" -> "varsovia"."""
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(c for c in nfkd if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=1024)
def words(text: str) -> tuple[str, ...]:
    """The words of a text (cached: every signal of one verdict reads the same source and output)."""
    return tuple(WORD.findall(text))


# An elided article or preposition before a name ("d'Arc", "l'Aquila", "dell'Orto"): the name
# is the word after it too.
_ELISION = re.compile(r"^(?:d|l|dell|nell|all|dall|sull|qu)['’](?=\w{2})")


@lru_cache(maxsize=1024)
def word_pool(text: str) -> frozenset[str]:
    """The folded words of a text, as a set (cached like `words`); a word after an elided article
    is in it alone too ("Joana d'Arc": "d'arc" and "arc")."""
    out = {fold(w) for w in words(text)}
    return frozenset(out | {_ELISION.sub("", w) for w in out if "'" in w or "’" in w})


@lru_cache(maxsize=262144)
def zipf(word: str, lang: str) -> float:
    """wordfreq's Zipf frequency of a word in a language (0: not in its word list)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, lang))


def is_latin_word(word: str) -> bool:
    if word.isascii():
        return any(c.isalpha() for c in word)
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(_LATIN.match(c) for c in letters)


def non_latin_spans(text: str) -> list[str]:
    """Runs of letters of a non-Latin script (a name in Chinese, Greek or Cyrillic inside English text)."""
    if text.isascii():
        return []
    return [w for w in words(text) if any(c.isalpha() for c in w) and not is_latin_word(w)]


def _is_letter_or_mark(c: str) -> bool:
    return unicodedata.category(c)[0] in "LM"


def non_latin_runs(text: str) -> list[tuple[str, int, int]]:
    """Runs of letters (with their combining marks: Thai, Devanagari vowel signs) of a
    non-Latin script, with their offsets: "กรุงเทพมหานคร" is one run, where `words` cuts it at
    every vowel sign."""
    if text.isascii():
        return []
    out: list[tuple[str, int, int]] = []
    start = None
    for i, c in enumerate(text + " "):
        inside = _is_letter_or_mark(c) and not (c.isascii() or _LATIN.match(c))
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            run = text[start:i]
            if any(ch.isalpha() for ch in run):
                out.append((run, start, i))
            start = None
    return out


_PAREN_AFTER_WORD = re.compile(r"([^\W\d_])\s*\(([^()]{1,300})\)")
# A gloss opens with the name in its script, or with a language's name and a colon first.
_GLOSS_OPENING = re.compile(r"\s*(?:[A-Z][a-z]+(?: [A-Za-z]+)?\s*:\s*)?")


def gloss_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the parentheses that follow a Latin-script word and open with a non-Latin
    letter, or with a language's name and a colon before one: a gloss of the name before them
    ("Moscow (Russian: Москва)", "Alexander Pushkin (Александр Пушкин)"; not "dioxygen (see
    the filled π* orbitals)")."""
    out = []
    for m in _PAREN_AFTER_WORD.finditer(text):
        inner = m.group(2)
        rest = inner[_GLOSS_OPENING.match(inner).end():]  # type: ignore[union-attr]  (it matches the empty string)
        if _LATIN.match(m.group(1)) and rest[:1].isalpha() and not rest[:1].isascii() and not _LATIN.match(rest[:1]):
            out.append((m.start(2), m.end(2)))
    return out


def non_latin_glosses(text: str) -> set[str]:
    """The non-Latin runs of a text that stand in a gloss (`gloss_spans`): the same name in its
    own script, beside its romanized form."""
    spans = gloss_spans(text)
    return {run for run, a, b in non_latin_runs(text) if any(s <= a and b <= e for s, e in spans)}


def quoted_spans(text: str) -> list[str]:
    return [m.group(0)[1:-1] for m in _QUOTED.finditer(text)]


@dataclass(frozen=True, slots=True)
class Name:
    """A span of capitalized words in the source (a person, place, organisation, title)."""

    words: tuple[str, ...]
    span: str = ""  # the source text it covers, link words included ("University of Warsaw")

    @property
    def text(self) -> str:
        return " ".join(self.words)


@lru_cache(maxsize=16384)
def names(text: str) -> tuple[Name, ...]:
    """Capitalized word runs of an English text, linked by "of"/"the"/...; a sentence-initial
    word counts only when another capitalized word follows it; function words never start a name.
    (Cached: the signals ask for a source's names several times.)"""
    toks = list(WORD.finditer(text))
    spans: list[tuple[list[str], int, int]] = []  # words, start and end offsets in the text
    current: list[str] = []
    start = end = 0
    pending_link: list[str] = []
    prev_end = 0
    for i, m in enumerate(toks):
        w = m.group(0)
        gap = text[prev_end:m.start()]  # what lies between the previous word and this one
        if current and _NAME_BREAK.search(gap):
            spans.append((current, start, end))  # punctuation ends a name: "Lebanon, New Hampshire"
            current, pending_link = [], []
        prev_end = m.end()
        initial = i == 0 or sentence_start(gap)
        cap = w[0].isupper() or (len(w) > 1 and sum(c.isupper() for c in w) >= 2)
        if cap and w.lower() not in _EN_FUNCTION and not w.isdigit():
            nxt = toks[i + 1].group(0) if i + 1 < len(toks) else ""
            acronym = sum(c.isupper() for c in w) >= 2
            if initial and not current and not acronym and not (nxt[:1].isupper() and nxt.lower() not in _EN_FUNCTION):
                continue
            if current and pending_link:
                current.extend(pending_link)
            if not current:
                start = m.start()
            current.append(w)
            end = m.end()
            pending_link = []
        elif current and w.lower() in _NAME_LINKS and not pending_link:
            pending_link = [w]
        else:
            if current:
                spans.append((current, start, end))
            current, pending_link = [], []
    if current:
        spans.append((current, start, end))
    out: list[Name] = []
    for s, a, b in spans:
        # possessives ("Luther's") and one-letter pieces of dotted acronyms ("U.S.") are not name words
        content = [re.sub(r"['’]s$", "", w) for w in s if w.lower() not in _NAME_LINKS and len(w) > 1]
        if content:
            out.append(Name(tuple(content), text[a:b]))
    return tuple(out)


def sentence_start(gap: str) -> bool:
    """The text between two words ends a sentence ("[.!?:;]" then spaces only): the second word
    starts one."""
    return bool(_SENTENCE_END.search(gap))


def name_words(text: str) -> set[str]:
    """Every word of every name in the text (as written)."""
    return {w for n in names(text) for w in n.words}


def present(word: str, pool: set[str] | frozenset[str]) -> bool:
    """A source word is in a pool of folded output words as is, or adapted ("Pulaski" /
    "Pułaski", "Normans" / "normandos")."""
    w = fold(word)
    if w in pool:
        return True
    if len(w) < 4:
        return False
    return _adapted(w, pool) if isinstance(pool, frozenset) else _adapted.__wrapped__(w, pool)


@lru_cache(maxsize=65536)
def _adapted(w: str, pool: frozenset[str]) -> bool:
    """Some word of the pool starts as `w` does or is like it (difflib ratio >= 0.75)."""
    lw = len(w)
    for o in pool:
        lo = len(o)
        if lo < 3:
            continue
        if lw >= 5 and o.startswith(w[:5]):
            return True
        if 2 * min(lw, lo) < 0.75 * (lw + lo):
            continue  # SequenceMatcher's real_quick_ratio, the first of its upper bounds, without building one
        sm = SequenceMatcher(None, w, o)  # the cheap upper bounds first (exact: each bounds ratio())
        if sm.quick_ratio() >= 0.75 and sm.ratio() >= 0.75:
            return True
    return False
