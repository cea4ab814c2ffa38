"""Quality filters on machine-translated segments. Each returns a reason or None."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from mt_aug import languages
from mt_aug.config import QualityConfig
from mt_aug.translation.base import Translation

_LETTER = re.compile(r"\w", re.UNICODE)


@lru_cache(maxsize=8)
def _detector(langs: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A lingua detector over the build's languages (models ship inside the package)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, c.upper()) for c in langs]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()


def language_confidence(text: str, lang: str, candidates: tuple[str, ...]) -> tuple[float, str | None]:
    """(confidence that `text` is in `lang`, the most likely language) among the candidates."""
    values = _detector(candidates).compute_language_confidence_values(text)
    conf = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    top = values[0].language.iso_code_639_1.name.lower() if values else None
    return conf.get(lang, 0.0), top


def repeat_fraction(text: str, lang: str) -> float:
    """Share of the text taken by its most repeated token 3-gram (or token, for short text)."""
    toks = text.split() if languages.is_spaced(lang) else list(text.replace(" ", ""))
    if len(toks) < 8:
        return 0.0
    grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    top = Counter(grams).most_common(1)[0][1]
    if top < 3:
        return 0.0
    return top * 3 / len(toks)


def check(
    source: str,
    out: Translation,
    tgt: str,
    cfg: QualityConfig,
    candidates: tuple[str, ...],
) -> str | None:
    """The first quality problem of one translated segment, or None if it passes."""
    text = out.text.strip()
    if not text or not _LETTER.search(text) and _LETTER.search(source):
        return "empty output"
    if out.hit_length_limit:
        return "hit length limit"
    if repeat_fraction(text, tgt) > cfg.max_repeat_fraction:
        return "degenerate repetition"
    if len(source) >= 10:
        lo, hi = cfg.length_ratio_band(tgt)
        if not lo <= len(text) / len(source) <= hi:
            return "length ratio"
    if cfg.langid and len(source) >= cfg.langid_min_chars and len(candidates) > 1:
        # Names and numbers make short text ambiguous: only a clear verdict drops it.
        conf, top = language_confidence(text, tgt, candidates)
        if conf < cfg.langid_min_confidence and top != tgt:
            return f"wrong language ({top})"
    return None
