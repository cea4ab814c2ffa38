"""Small text helpers shared by the quality signals: words, folding, names copied from a source."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
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
# Words that stay lowercase inside a name ("University of Warsaw", "Duke of York").
_NAME_LINKS = frozenset({"of", "the", "de", "da", "do", "von", "van", "der", "del", "la", "le", "du", "and", "&"})


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Casefolded, without diacritics: "Varsóvia" -> "varsovia"."""
    nfkd = unicodedata.normalize("NFKD", text)
    return "".join(c for c in nfkd if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return WORD.findall(text)


def is_latin_word(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(_LATIN.match(c) for c in letters)


def non_latin_spans(text: str) -> list[str]:
    """Runs of letters of a non-Latin script (a name in Chinese, Greek or Cyrillic inside English text)."""
    return [w for w in words(text) if any(c.isalpha() for c in w) and not is_latin_word(w)]


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


def names(text: str) -> list[Name]:
    """Capitalized word runs of an English text, linked by "of"/"the"/...; a sentence-initial
    word counts only when another capitalized word follows it; function words never start a name."""
    toks = list(WORD.finditer(text))
    spans: list[tuple[list[str], int, int]] = []  # words, start and end offsets in the text
    current: list[str] = []
    start = end = 0
    pending_link: list[str] = []
    prev_end = 0
    for i, m in enumerate(toks):
        w = m.group(0)
        if current and _NAME_BREAK.search(text[prev_end:m.start()]):
            spans.append((current, start, end))  # punctuation ends a name: "Lebanon, New Hampshire"
            current, pending_link = [], []
        prev_end = m.end()
        before = text[: m.start()]
        initial = i == 0 or bool(_SENTENCE_END.search(before))
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
    out = []
    for s, a, b in spans:
        # possessives ("Luther's") and one-letter pieces of dotted acronyms ("U.S.") are not name words
        content = [re.sub(r"['’]s$", "", w) for w in s if w.lower() not in _NAME_LINKS and len(w) > 1]
        if content:
            out.append(Name(tuple(content), text[a:b]))
    return out


def name_words(text: str) -> set[str]:
    """Every word of every name in the text (as written)."""
    return {w for n in names(text) for w in n.words}
