"""Text normalization for matching and ids: one definition used by dedup, decontamination and ids."""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache

from mt_aug import languages

# Scripts whose combining marks carry meaning (vowel signs, tone marks): keep their marks.
_KEEP_MARKS_SCRIPTS = {"Deva", "Beng", "Telu", "Thai", "Arab", "Hang", "Jpan", "Hans"}


class _PunctTable(dict):  # type: ignore[type-arg]
    """str.translate table: punctuation and symbols (Unicode categories P*, S*) -> space,
    everything else -> itself. Filled per code point on first sight (a dict subclass's
    __missing__ is what str.translate's lookup calls), so building it costs nothing and a
    lookup never raises (a missing key would raise and catch KeyError inside translate)."""

    def __missing__(self, cp: int) -> int | str:
        value: int | str = " " if unicodedata.category(chr(cp))[0] in ("P", "S") else cp
        self[cp] = value
        return value


class _MarksTable(dict):  # type: ignore[type-arg]
    """str.translate table: combining marks (Mn) -> removed, everything else -> itself."""

    def __missing__(self, cp: int) -> int | None:
        value = None if unicodedata.category(chr(cp)) == "Mn" else cp
        self[cp] = value
        return value


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, None]]:
    """str.translate tables over all of Unicode: punctuation and symbols -> space; combining
    marks -> removed (others map to themselves). Filled lazily, then C-speed per text."""
    return _PunctTable(), _MarksTable()  # type: ignore[return-value]


# ASCII text in one bytes.translate: NFKC and NFD change nothing, casefold is lower, no
# character is a combining mark; punctuation and symbols -> space as in _PunctTable; and
# \x1c-\x1f (whitespace to str.split, not to bytes.split) -> space, so bytes.split() splits
# where str.split() does.
_ASCII_TABLE = bytes(
    32 if unicodedata.category(chr(b))[0] in ("P", "S") or 0x1C <= b <= 0x1F
    else b + 32 if 65 <= b <= 90
    else b
    for b in range(256)
)


def normalize_text(text: str, lang: str = "en") -> str:
    """NFKC, casefold, punctuation and symbols removed, diacritics stripped where safe,
    whitespace collapsed. Two texts that differ only in case, punctuation, accents (Latin,
    Greek, Cyrillic) or spacing normalize to the same string."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_TABLE).split()).decode("ascii")
    punct, marks = _tables()
    text = unicodedata.normalize("NFKC", text).casefold().translate(punct)
    if not text.isascii():  # else: nothing to decompose, no marks
        lang_info = languages.LANGUAGES.get(lang)
        if lang_info is None or lang_info.script not in _KEEP_MARKS_SCRIPTS:
            text = unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).translate(marks))
    # str.split() splits where re's \s matches (the same Unicode whitespace)
    return " ".join(text.split())


def tokens(normalized: str, lang: str = "en") -> list[str]:
    """Words for space-delimited scripts; characters (spaces dropped) for zh, ja, th."""
    if languages.is_spaced(lang):
        return normalized.split()
    return [ch for ch in normalized if not ch.isspace()]


def text_hash(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def passage_id(passage: str) -> str:
    """Id of a passage: hash of its normalized English text, so the same paragraph read
    from two sources (or seen in two languages) is one passage."""
    return "p" + text_hash(normalize_text(passage))
