"""The fast Moses punctuation normalizer returns exactly what sacremoses returns, and
segmentation built on it is unchanged (segments are the translation cache keys)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from re import _constants as _c
from re import _parser

import blingfire
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sacremoses import MosesPunctNormalizer

from mt_aug.translation import segment
from mt_aug.translation.punct import FastPunctNormalizer, fast_normalizer

LANGS = ["en", "de", "fr", "es", "cs", "pt", "zh"]
_WS = re.compile(r"\s+")


@lru_cache(maxsize=None)
def _moses(lang: str) -> MosesPunctNormalizer:
    return MosesPunctNormalizer(lang=lang, pre_replace_unicode_punct=True)


def ref_normalize_segment(text: str, lang: str = "en") -> str:
    """normalize_segment as it was: sacremoses, then whitespace collapsed by regex."""
    return _WS.sub(" ", _moses(lang).normalize(text)).strip()


def _ref_pieces(sentence: str, max_words: int, lang: str = "en") -> list[str]:
    """`_split_long` as it was, with over-long words cut as the segmenter cuts them (issue 20;
    the cutting itself is tested in test_security)."""
    limit = segment.max_word_chars(lang)
    if any(len(w) > limit for w in sentence.split()):
        return segment._cut_long_words(sentence.split(), max_words, limit, None)
    return segment._split_long(sentence, max_words)


def ref_split_sentences(text: str, max_words: int = segment.DEFAULT_MAX_WORDS, lang: str = "en") -> list[str]:
    """split_sentences as it was, on sacremoses."""
    text = segment._CONTROL.sub(" ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for sentence in blingfire.text_to_sentences(text).split("\n"):
        sentence = ref_normalize_segment(sentence, lang)
        if sentence:
            out.extend(_ref_pieces(sentence, max_words, lang))
    return out


# Characters and fragments the Moses rules look at, mixed with arbitrary Unicode.
_SPECIAL = list(
    "\"'`´‘’‚„“”«»–—…-.,;:!?%()<>[]~ \t\n\r\x0b\x0c\x1c\x85\u00a0\u2009\u202f\u3000\u200b\ufeff"
    "，。、∶：？《》）！（；」「０１２３４５６７８９．～━〈〉【】％ºnmcC0123456789aZ"
) + ["nº\u00a0", "\u00a0ºC", "\u00a0cm", "''", "´´", "\u00a0«\u00a0", "\u00a0»\u00a0", ") ,", "( ",
     " )", "1 %", " :", " ;", '",', '."', '...".', "\u00a0?", "\u00a0!", ",\u00a0", "1\u00a02", "a’b", "a‘b",
     "。 ", "． ", "  ", "\x00", "\x07", "\x7f", "\x9f"]
_CHARS = st.text(alphabet=st.one_of(st.sampled_from([c for c in _SPECIAL if len(c) == 1]), st.characters()),
                 max_size=40)
_TEXT = st.tuples(_CHARS, st.lists(st.tuples(st.sampled_from(_SPECIAL), _CHARS), max_size=4)).map(
    lambda t: t[0] + "".join(a + b for a, b in t[1]))


def _outcome(f: Callable[..., object], *args: object) -> tuple[str, object]:
    """What a call returns, or the type of what it raises (a lone surrogate cannot be encoded
    for blingfire: both versions raise)."""
    try:
        return "ok", f(*args)
    except Exception as e:  # noqa: BLE001
        return "raised", type(e)


@settings(max_examples=80, deadline=None)
@example(text="a\ud800. B.", lang="en")
@example(text='"' + "0" * 70 + " 0", lang="en")
@example(text="Il a dit\u00a0: «\u00a0oui\u00a0» (1\u00a0000\u00a0%)\u00a0!", lang="fr")
@given(text=_TEXT, lang=st.sampled_from(LANGS))
def test_fast_normalizer_is_sacremoses(text: str, lang: str) -> None:
    assert fast_normalizer(lang).normalize(text) == _moses(lang).normalize(text)
    assert segment.normalize_segment(text, lang) == ref_normalize_segment(text, lang)
    assert _outcome(segment._text_to_sentences, text) == _outcome(blingfire.text_to_sentences, text)
    assert _outcome(segment.split_sentences, text, 5, lang) == _outcome(ref_split_sentences, text, 5, lang)
    norm = ref_normalize_segment(text)
    assert segment.segment_text(text, split=False, max_words=5).segments == (
        tuple(_ref_pieces(norm, 5)) if norm else ())


def _example(parsed: list) -> str:  # type: ignore[type-arg]
    """A string the parsed pattern matches (for the patterns of the Moses rules)."""
    out = []
    for op, av in parsed:
        if op is _c.LITERAL:
            out.append(chr(av))
        elif op is _c.NOT_LITERAL:
            out.append("x" if av != ord("x") else "y")
        elif op is _c.SUBPATTERN:
            out.append(_example(av[3]))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            out.append(_example(av[2]) * max(av[0], 2))
        elif op is _c.IN:
            if av[0][0] is _c.NEGATE:
                out.append("x")
            elif av[0][0] is _c.LITERAL:
                out.append(chr(av[0][1]))
            elif av[0][0] is _c.RANGE:
                out.append(chr(av[0][1][0]))
            else:
                out.append({_c.CATEGORY_DIGIT: "7", _c.CATEGORY_SPACE: " "}[av[0][1]])
        else:
            raise AssertionError(f"no example for {op}")
    return "".join(out)


def test_every_rule_fires_and_matches() -> None:
    """Texts that each rule changes: every step, alone and after other rules rewrote the
    text, gives sacremoses' result."""
    for lang in ("en", "de", "cs", "pt"):  # the four rule lists sacremoses has
        fast, ref = FastPunctNormalizer(lang), _moses(lang)
        rules = list(ref.REPLACE_UNICODE_PUNCTUATION) + list(ref.substitutions)
        assert len(fast.steps) == len(rules)
        bodies = [_example(list(_parser.parse(pattern))) for pattern, _ in rules]
        for (pattern, repl), body in zip(rules, bodies, strict=True):
            assert re.sub(pattern, repl, body) != body, (lang, pattern)
            for text in (body, f"x {body} 9 {body}y", f"({body}) ''a’b {body}\u00a0%"):
                assert fast.normalize(text) == ref.normalize(text), (lang, pattern, text)
        assert fast.normalize("".join(bodies)) == ref.normalize("".join(bodies))


def test_split_whitespace_is_regex_whitespace() -> None:
    """normalize_segment collapses whitespace with str.split; the old code used re's \\s: they
    agree on every code point of the BMP (and a sample beyond; benchmarks/segment.py checks all)."""
    every = "a".join(map(chr, [*range(0x10000), *range(0x10000, sys.maxunicode + 1, 101)]))
    assert " ".join(every.split()) == _WS.sub(" ", every).strip()


@lru_cache(maxsize=2)
def _load(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def _sample(path: Path, k: int) -> list[tuple[str, bool]]:
    """Every k-th distinct text of a SQuAD-format file: (text, is_passage)."""
    data = _load(path)
    texts: dict[tuple[str, bool], None] = {}
    for article in data:
        texts[(article["title"], False)] = None
        for para in article["paragraphs"]:
            texts[(para["context"], True)] = None
            for qa in para["qas"]:
                texts[(qa["question"], False)] = None
                for a in qa["answers"]:
                    texts[(a["text"], False)] = None
    return list(texts)[::k]


@pytest.mark.parametrize(("name", "lang", "k"), [
    ("squad/dev-v1.1.json", "en", 60),
    ("xquad/xquad.en.json", "en", 5),
    ("xquad/xquad.de.json", "de", 10),
    ("xquad/xquad.es.json", "es", 10),
    ("xquad/xquad.zh.json", "zh", 10),
])
def test_real_text_segments_unchanged(shared_data: Path, name: str, lang: str, k: int) -> None:
    """Sampled SQuAD dev / XQuAD texts: the same segments as with sacremoses (the full files
    are checked by benchmarks/segment.py)."""
    sample = _sample(shared_data / name, k)
    assert len(sample) > 100
    for text, passage in sample:
        if passage:
            assert segment.split_sentences(text, lang=lang) == ref_split_sentences(text, lang=lang)
        else:
            norm = ref_normalize_segment(text, lang)
            assert segment.normalize_segment(text, lang) == norm
            if lang == "en":
                assert segment.segment_text(text, split=False).segments == (
                    tuple(segment._split_long(norm, segment.DEFAULT_MAX_WORDS)) if norm else ())


# --- normalize.normalize_text (decontamination, dedup, ids) -------------------------------------
# (the speed itself is measured in benchmarks/segment.py, not asserted here)

_KEEP_MARKS = {"Deva", "Beng", "Telu", "Thai", "Arab", "Hang", "Jpan", "Hans"}


def ref_normalize_text(text: str, lang: str = "en") -> str:
    """normalize_text as it was, with its all-Unicode translate tables written as per-character
    category tests."""
    import unicodedata

    from mt_aug import languages

    cat = unicodedata.category
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if cat(c)[0] in ("P", "S") else c for c in text)
    info = languages.LANGUAGES.get(lang)
    if info is None or info.script not in _KEEP_MARKS:
        text = "".join(c for c in unicodedata.normalize("NFD", text) if cat(c) != "Mn")
        text = unicodedata.normalize("NFC", text)
    return _WS.sub(" ", text).strip()


_NORM_LANGS = ["en", "de", "hi", "th", "zh", "ar", "el", "xx"]


@settings(max_examples=50, deadline=None)
@given(text=st.one_of(_TEXT, st.text(alphabet=st.characters(max_codepoint=127))), lang=st.sampled_from(_NORM_LANGS))
def test_normalize_text_unchanged(text: str, lang: str) -> None:
    from mt_aug.normalize import normalize_text

    assert normalize_text(text, lang) == ref_normalize_text(text, lang)


def test_normalize_text_every_code_point() -> None:
    """Each code point up to U+33FF (Latin to CJK punctuation) and a sample beyond, together and
    next to letters, on both paths (ASCII and not); benchmarks/segment.py checks all."""
    from mt_aug.normalize import normalize_text

    every = "".join(map(chr, [*range(0x3400), *range(0x3400, sys.maxunicode + 1, 97)]))
    for lang in ("en", "hi"):
        assert normalize_text(every, lang) == ref_normalize_text(every, lang)
    for cp in range(128):
        text = f"Ab{chr(cp)}C {chr(cp)}{chr(cp)}d"
        assert normalize_text(text) == ref_normalize_text(text), cp


@pytest.mark.parametrize(("name", "lang"), [("squad/dev-v1.1.json", "en"), ("xquad/xquad.hi.json", "hi"),
                                            ("xquad/xquad.ru.json", "ru"), ("xquad/xquad.th.json", "th")])
def test_normalize_text_real_text_unchanged(shared_data: Path, name: str, lang: str) -> None:
    from mt_aug.normalize import normalize_text

    for text, _ in _sample(shared_data / name, 25):
        assert normalize_text(text, lang) == ref_normalize_text(text, lang)
        assert normalize_text(text) == ref_normalize_text(text)
