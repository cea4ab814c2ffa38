"""Text normalization for matching and ids: one definition used by dedup, decontamination and ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from mt_aug import languages

_WS = re.compile(r"\s+")
# Scripts whose combining marks carry meaning (vowel signs, tone marks): keep their marks.
_KEEP_MARKS_SCRIPTS = {"Deva", "Beng", "Telu", "Thai", "Arab", "Hang", "Jpan", "Hans"}


def _is_punct_or_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "S")


def normalize_text(text: str, lang: str = "en") -> str:
    """NFKC, casefold, punctuation and symbols removed, diacritics stripped where safe,
    whitespace collapsed. Two texts that differ only in case, punctuation, accents (Latin,
    Greek, Cyrillic) or spacing normalize to the same string."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if _is_punct_or_symbol(ch) else ch for ch in text)
    lang_info = languages.LANGUAGES.get(lang)
    if lang_info is None or lang_info.script not in _KEEP_MARKS_SCRIPTS:
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))
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
