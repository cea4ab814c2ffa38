"""Language ID that ignores names: the output is judged without the spans it copied from the
source (names, numbers, quoted titles, non-Latin script), and "untranslated" means the output
is essentially the source, not that it carries English names."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import IsoCode639_1, LanguageDetectorBuilder

from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import EN_FUNCTION, WORD, fold, name_words, non_latin_spans, quoted_spans, word_pool, words


@lru_cache(maxsize=8)
def _detector(langs: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A lingua detector over the build's languages (models ship inside the package)."""
    codes = [getattr(IsoCode639_1, c.upper()) for c in langs]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()


def language_confidence(text: str, lang: str, candidates: tuple[str, ...]) -> tuple[float, str | None]:
    """(confidence that `text` is in `lang`, the most likely language) among the candidates."""
    values = _detector(candidates).compute_language_confidence_values(text)
    conf = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    top = values[0].language.iso_code_639_1.name.lower() if values else None
    return conf.get(lang, 0.0), top


def without_copied(source: str, output: str) -> str:
    """The output without what it copied from the source: words of the source's names, any
    capitalized or digit-bearing word found in the source, quoted titles, non-Latin spans."""
    src_words = set(words(source))
    copied = name_words(source) | {w for w in src_words if w[:1].isupper() or any(c.isdigit() for c in w)}
    copied |= set(non_latin_spans(source))
    text = output
    for q in quoted_spans(output):
        text = text.replace(q, " ")

    def keep(m: re.Match[str]) -> str:
        w = m.group(0)
        return " " if w in copied or any(c.isdigit() for c in w) else w

    return re.sub(r"\s+", " ", WORD.sub(keep, text)).strip()


def copy_share(source: str, output: str) -> float:
    """Share of the output's words (folded) that are the source's words: 1.0 for a copy."""
    out = [fold(w) for w in words(output)]
    if not out:
        return 0.0
    src = word_pool(source)
    return sum(w in src for w in out) / len(out)


# Abbreviations of references, which a translation copies ("pp. 123-145", "ibid.", "op. cit.",
# "et al."): no words a translation must change.
BIBLIOGRAPHIC = frozenset("p pp ibid ib op cit loc vol vols ed eds et al cf ff fn n nn no nos ch chap fig figs "
                          "trans repr rev ser sec art id passim supra infra".split())


def content_words(source: str) -> int:
    """Words of the source that are not names, numbers, initials or the abbreviations of a
    reference (what a translation must change)."""
    nw = name_words(source)
    return sum(1 for w in words(source) if w not in nw and not any(c.isdigit() for c in w)
               and len(w) > 1 and w.lower() not in BIBLIOGRAPHIC)


def copied_whole(source: str, output: str) -> bool:
    """The output's words are the source's, in order (case aside; accents count: "camera" and
    "câmera" differ)."""
    return [w.casefold() for w in words(output)] == [w.casefold() for w in words(source)]


class Untranslated(Signal):
    """`quality.untranslated`: the output is essentially the source. A source without a single
    English function word (a query of names and nouns: "google pixel 8 pro camera") is
    untranslated only when copied whole: its copied words are mostly names, and a word
    translated among them ("câmera") shows the model translated what it read as words."""

    name = "untranslated"
    version = 2
    reasons = ("untranslated",)

    def check(self, case: Case) -> None:
        share = copy_share(case.source, case.text)
        case.scores["copy"] = round(share, 3)
        if share >= self.cfg.min_copy and content_words(case.source) >= self.cfg.min_words:
            if any(w.lower() in EN_FUNCTION for w in words(case.source)) or copied_whole(case.source, case.text):
                case.fail("untranslated")


class LanguageId(Signal):
    """`quality.langid`: the output without what it copied is not in the target language
    ("wrong language (xx)", xx the likeliest language); not asked of an untranslated output."""

    name = "langid"
    reasons = ("wrong language",)

    @property
    def active(self) -> bool:
        return self.enabled and len(self.target.candidates) > 1

    def check(self, case: Case) -> None:
        if "untranslated" in case.failed:
            return
        rest = without_copied(case.source, case.text)
        if sum(c.isalpha() for c in rest) >= self.cfg.min_chars:
            conf, top = language_confidence(rest, self.target.tgt, self.target.candidates)
            case.scores["langid"] = round(conf, 3)
            if conf < self.cfg.min_confidence and top != self.target.tgt:
                case.fail(f"wrong language ({top})")
