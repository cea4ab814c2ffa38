"""Numbers in the source must survive in the translation, compared by value, locale-aware.

Each side's numerals are read into sets of candidate values (1,740 may be 1740 or 1.74 by
locale, "400 mil" is 400 or 400000, "5 pm" is 5 or 17, "XIII" is 13, "1990s" is 1990 or 90);
a source numeral survives when one of its values appears in the output, as a numeral or as a
number word of the target language. A numeral of the output that no source value explains is
a changed number. A missing number that is one side of a unit conversion ("187 feet (57 m)")
is not an error while the other side survives and nothing was changed.

Locale rules live in `LOCALES`; a language adds its own with `register_locale`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import fold


@dataclass(frozen=True)
class NumberLocale:
    """How one language writes numbers."""

    decimal: str = "."
    scales: dict[str, float] = field(default_factory=dict)  # words after a numeral that multiply it
    words: dict[str, int] = field(default_factory=dict)  # number words (cardinal, ordinal), folded
    centuries: tuple[str, ...] = ()  # words before a roman numeral century ("século")


_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_EN_ORD = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
           "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
           "eighteenth", "nineteenth", "twentieth"]
_EN_WORDS = {w: i for i, w in enumerate(_EN_UNITS)} | _EN_TENS | {w: i for i, w in enumerate(_EN_ORD) if w} | {
    "hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "dozen": 12, "twice": 2, "once": 1,
    "single": 1, "double": 2, "triple": 3, "half": 2, "quarter": 4, "century": 100, "decade": 10, "pair": 2,
    "hundredth": 100, "thousandth": 1000, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
}

_PT_WORDS = {
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8,
    "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13, "catorze": 14, "quatorze": 14, "quinze": 15,
    "dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezassete": 17, "dezoito": 18, "dezenove": 19,
    "dezanove": 19, "vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70,
    "oitenta": 80, "noventa": 90, "cem": 100, "cento": 100, "centenas": 100, "mil": 1000, "milhares": 1000,
    "milhao": 10**6, "milhoes": 10**6, "bilhao": 10**9, "bilhoes": 10**9, "duzia": 12, "dupla": 2, "duplo": 2,
    "dobro": 2, "tripla": 3, "triplo": 3, "metade": 2, "meio": 2, "meia": 2, "quarto": 4, "seculo": 100,
    "seculos": 100, "decada": 10, "decadas": 10, "par": 2, "ambos": 2, "ambas": 2, "unico": 1, "unica": 1,
    "duplas": 2,
}
for _i, _w in enumerate(["primeir", "segund", "terceir", "quart", "quint", "sext", "setim", "oitav", "non",
                         "decim"], start=1):
    for _end in ("o", "a", "os", "as"):
        _PT_WORDS[_w + _end] = _i
for _w, _v in {"vigesim": 20, "trigesim": 30, "quadragesim": 40, "quinquagesim": 50, "centesim": 100,
               "milesim": 1000}.items():
    for _end in ("o", "a"):
        _PT_WORDS[_w + _end] = _v

LOCALES: dict[str, NumberLocale] = {
    "en": NumberLocale(".", {"thousand": 1e3, "million": 1e6, "millions": 1e6, "billion": 1e9, "trillion": 1e12},
                       _EN_WORDS, ("century", "centuries")),
    "pt": NumberLocale(",", {"mil": 1e3, "milhao": 1e6, "milhoes": 1e6, "bilhao": 1e9, "bilhoes": 1e9,
                             "trilhao": 1e12, "trilhoes": 1e12, "mil milhoes": 1e9},
                       _PT_WORDS, ("seculo", "seculos")),
}
# Chinese, Japanese, Korean: 万/만 (10^4) and 亿/億/억 (10^8) after a numeral ("1400万" = 14 million).
_CJK = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "千": 1e3, "百万": 1e6, "만": 1e4, "억": 1e8, "천": 1e3}
for _lang in ("zh", "ja", "ko"):
    LOCALES[_lang] = NumberLocale(".", dict(_CJK))
_GENERIC = NumberLocale()


def register_locale(lang: str, locale: NumberLocale) -> None:
    """Add or replace a language's number rules."""
    LOCALES[lang] = locale


# A numeral: digits with optional group separators (comma, dot, thin/normal space) and decimals.
_NUM = re.compile(r"(?<![\d.,])(\d{1,3}(?:(?:,\d{3})+|(?:\.\d{3})+|(?:[ \u00a0\u202f]\d{3})+)(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
                  r"(s\b|[ºª°]|[^\W\d_]*)?")
_TIME_EN = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2})[:h](\d{2})\b")
_ROMAN = re.compile(r"\b(?=[IVXLC]{2,}\b)(C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})\b")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_CONVERSION = re.compile(r"(\d[\d.,\u00a0 ]*)\s*[^\W\d_]{0,12}\.?\s*\(\s*(?:about |approximately |c\. |ca\. )?(\d[\d.,\u00a0 ]*)")


def _roman(s: str) -> int:
    total, prev = 0, 0
    for ch in reversed(s):
        v = _ROMAN_VALUES[ch]
        total = total - v if v < prev else total + v
        prev = max(prev, v)
    return total


def _readings(numeral: str) -> set[float]:
    """Every value a numeral can mean under either convention (1,740 -> {1740, 1.74})."""
    out: set[float] = set()
    plain = numeral.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d+", plain):
        return {float(plain)}
    if re.fullmatch(r"\d{1,3}(?: \d{3})+(?:[.,]\d+)?", plain):
        head, _, frac = plain.replace(",", ".").partition(".")
        out.add(float(head.replace(" ", "") + ("." + frac if frac else "")))
        return out
    for group, dec in ((",", "."), (".", ",")):
        m = re.fullmatch(rf"(\d{{1,3}}(?:\{group}\d{{3}})+)(?:\{dec}(\d+))?", plain)
        if m:
            out.add(float(m.group(1).replace(group, "") + ("." + m.group(2) if m.group(2) else "")))
        m = re.fullmatch(rf"(\d+)\{dec}(\d+)", plain)
        if m:
            out.add(float(f"{m.group(1)}.{m.group(2)}"))
    return out or {float(re.sub(r"\D", "", plain) or 0)}


@dataclass(frozen=True, slots=True)
class Numeral:
    text: str
    values: frozenset[float]
    start: int


def numerals(text: str, lang: str) -> list[Numeral]:
    """The numbers written in a text with every value each may stand for. Zero is left out
    (":00" minutes, "0" placeholders carry no fact worth a drop)."""
    loc = LOCALES.get(lang, _GENERIC)
    folded = fold(text)
    out: list[Numeral] = []
    taken: list[tuple[int, int]] = []
    for m in _TIME_EN.finditer(text):
        h = int(m.group(1))
        vals = {float(h)}
        if m.group(3).lower() == "p" and h < 12:
            vals.add(float(h + 12))
        if m.group(3).lower() == "a" and h == 12:
            vals.add(0.0)
        out.append(Numeral(m.group(0), frozenset(vals), m.start()))
        if m.group(2) and int(m.group(2)):
            out.append(Numeral(m.group(2), frozenset({float(m.group(2))}), m.start(2)))
        taken.append(m.span())
    for m in _NUM.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        vals = _readings(m.group(1))
        suffix = m.group(2) or ""
        if suffix == "s" and len(m.group(1)) == 4:  # 1990s -> the nineties
            vals |= {v % 100 for v in vals}
        # A scale word after the numeral: "400 mil", "4.5 million".
        end = m.end(1)  # a scale word may follow directly ("1400万")
        rest = folded[end:end + 16].lstrip() if len(folded) == len(text) else fold(text[end:end + 16]).lstrip()
        for word, factor in sorted(loc.scales.items(), key=lambda kv: -len(kv[0])):
            if rest.startswith(word) and (len(rest) == len(word) or not rest[len(word)].isalpha()
                                          or not word.isascii()):
                vals |= {v * factor for v in vals}
                break
        vals.discard(0.0)
        if vals:
            out.append(Numeral(m.group(1), frozenset(round(v, 6) for v in vals), m.start()))
    for m in _ROMAN.finditer(text):
        if m.group(0):
            out.append(Numeral(m.group(0), frozenset({float(_roman(m.group(0)))}), m.start()))
    return sorted(out, key=lambda n: n.start)


def word_values(text: str, lang: str) -> set[float]:
    """Values of the number words of a text ("dois" -> 2, "twenty-five" -> 25, "segunda" -> 2)."""
    table = LOCALES.get(lang, _GENERIC).words
    if not table:
        return set()
    out: set[float] = set()
    for w in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)?", fold(text)):
        parts = w.split("-")
        vals = [table.get(p) for p in parts]
        for v in vals:
            if v is not None:
                out.add(float(v))
        if len(parts) == 2 and all(v is not None for v in vals):
            out.add(float(sum(v for v in vals if v is not None)))
    return out


def _conversion_partners(text: str) -> dict[str, str]:
    """Numerals paired as "A unit (B unit)": each side -> the other."""
    pairs: dict[str, str] = {}
    for m in _CONVERSION.finditer(text):
        a, b = m.group(1).strip(" ,."), m.group(2).strip(" ,.")
        pairs[a], pairs[b] = b, a
    return pairs


@dataclass(frozen=True, slots=True)
class NumberCheck:
    missing: tuple[str, ...]  # source numerals with no value in the output
    changed: tuple[str, ...]  # output numerals no source value explains

    @property
    def reason(self) -> str | None:
        if self.changed:
            return "number changed"
        if self.missing:
            return "number lost"
        return None


# Footnote markers ("[note 6]", "[12]", "[a]"): references, not facts; a translation may renumber them.
_FOOTNOTE = re.compile(r"\[(?:(?:note|nota|n\.)\s*)?(?:\d{1,3}|[a-z])\]", re.IGNORECASE)
_SEPARATORS = ".,\u00a0\u202f "


def _shape(numeral: str) -> tuple[str, tuple[int, ...]]:
    """A numeral's digits and where its separators stand (counted in digits from the right)."""
    digits = [c for c in numeral if c.isdigit()]
    seps, seen = [], 0
    for c in reversed(numeral):
        if c.isdigit():
            seen += 1
        elif c in _SEPARATORS:
            seps.append(seen)
    return "".join(digits), tuple(seps)


def same_digits(a: str, b: str) -> bool:
    """The same digits with separators in the same places, whichever separator each is: the
    source's own ("3.14" kept as "3.14") or the target's ("8,848.86" written "8.848.86", its
    group mark localized and its decimal point kept). Not a changed number: a reader gets the
    same digits, where "1,250,000" -> "1.20.000" is one."""
    return _shape(a) == _shape(b)


def check_numbers(source: str, output: str, src_lang: str, tgt_lang: str) -> NumberCheck:
    source, output = _FOOTNOTE.sub(" ", source), _FOOTNOTE.sub(" ", output)
    src = numerals(source, src_lang)
    out = numerals(output, tgt_lang)
    if not src and not out:
        return NumberCheck((), ())
    out_vals = {v for n in out for v in n.values} | word_values(output, tgt_lang)
    src_vals = {v for n in src for v in n.values} | word_values(source, src_lang)
    missing = [n for n in src if not (n.values & out_vals) and not any(same_digits(n.text, o.text) for o in out)]
    changed = [n for n in out if not (n.values & src_vals) and not any(same_digits(n.text, o.text) for o in src)]
    if missing and not changed:
        partners = _conversion_partners(source)
        present = {n.text for n in src if n.values & out_vals}
        missing = [n for n in missing if partners.get(n.text) not in present]
    return NumberCheck(tuple(n.text for n in missing), tuple(n.text for n in changed))


class Numbers(Signal):
    """`quality.numbers`: "number changed", and "number lost" unless `lost: false`."""

    name = "numbers"
    reasons = ("number changed", "number lost")

    def check(self, case: Case) -> None:
        nc = check_numbers(case.source, case.text, self.target.src, self.target.tgt)
        r = nc.reason
        if r == "number lost" and not self.cfg.lost:
            r = None
        if r is not None:
            case.fail(r, f"numbers missing {list(nc.missing)} changed {list(nc.changed)}")
