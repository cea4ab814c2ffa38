"""Text normalization for matching and ids: one definition used by dedup, decontamination and ids."""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from functools import lru_cache

from mt_aug import languages

_WS = re.compile(r"\s+")
# Scripts whose combining marks carry meaning (vowel signs, tone marks): keep their marks.
_KEEP_MARKS_SCRIPTS = {"Deva", "Beng", "Telu", "Thai", "Arab", "Hang", "Jpan", "Hans"}


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[int, None]]:
    """str.translate tables over all of Unicode: punctuation and symbols -> space; combining
    marks -> removed. Built once (about half a second), then C-speed per text."""
    punct: dict[int, str] = {}
    marks: dict[int, None] = {}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))
        if cat[0] in ("P", "S"):
            punct[cp] = " "
        elif cat == "Mn":
            marks[cp] = None
    return punct, marks


def normalize_text(text: str, lang: str = "en") -> str:
    """NFKC, casefold, punctuation and symbols removed, diacritics stripped where safe,
    whitespace collapsed. Two texts that differ only in case, punctuation, accents (Latin,
    Greek, Cyrillic) or spacing normalize to the same string."""
    punct, marks = _tables()
    text = unicodedata.normalize("NFKC", text).casefold().translate(punct)
    lang_info = languages.LANGUAGES.get(lang)
    if lang_info is None or lang_info.script not in _KEEP_MARKS_SCRIPTS:
        text = unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).translate(marks))
    return _WS.sub(" ", text).strip()


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
