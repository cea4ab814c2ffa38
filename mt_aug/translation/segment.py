"""Sentence segmentation before translation, and reassembly after.

blingfire splits text into sentences (it knows abbreviations, decimals and quotes; its
model ships in the wheel and it is about 75x faster than pysbd on SQuAD);
sacremoses' Moses rules normalize punctuation so that segments differing only in quote or dash
style are one segment for the cache (run by punct.FastPunctNormalizer: the same output, much
sooner). A sentence longer than the model's limit is split further
at clause punctuation, then at word boundaries: never truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import blingfire

from mt_aug import languages
from mt_aug.translation.punct import fast_normalizer

DEFAULT_MAX_WORDS = 80
_CLAUSE = re.compile(r"(?<=[,;:])\s+")


def normalize_segment(text: str, lang: str = "en") -> str:
    """The exact text sent to a model: Moses punctuation normalization, single spaces.

    (`" ".join(s.split())` is `re.sub(r"\\s+", " ", s).strip()`: str.split and re's \\s agree on
    every code point, which tests/test_segment_speed.py checks.)"""
    return " ".join(fast_normalizer(lang).normalize(text).split())


def _split_long(sentence: str, max_words: int) -> list[str]:
    words = sentence.split()
    if len(words) <= max_words:
        return [sentence]
    # Prefer clause boundaries nearest the middle, else a plain word boundary.
    clauses = _CLAUSE.split(sentence)
    if len(clauses) > 1:
        counts = [len(c.split()) for c in clauses]
        total, run, best, best_gap = sum(counts), 0, 1, None
        for i, n in enumerate(counts[:-1], start=1):
            run += n
            gap = abs(total / 2 - run)
            if best_gap is None or gap < best_gap:
                best, best_gap = i, gap
        left, right = " ".join(clauses[:best]), " ".join(clauses[best:])
    else:
        mid = len(words) // 2
        left, right = " ".join(words[:mid]), " ".join(words[mid:])
    return _split_long(left, max_words) + _split_long(right, max_words)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")


def split_sentences(text: str, max_words: int = DEFAULT_MAX_WORDS, lang: str = "en") -> list[str]:
    """Text -> normalized segments, each at most `max_words` words, in order. Control
    characters are removed first (they confuse tokenizers and are never meaningful here)."""
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for sentence in blingfire.text_to_sentences(text).split("\n"):
        sentence = normalize_segment(sentence, lang)
        if sentence:
            out.extend(_split_long(sentence, max_words))
    return out


def join_segments(segments: list[str], lang: str) -> str:
    """Reassemble translated segments into one passage, in order."""
    sep = " " if languages.is_spaced(lang) else ""
    return sep.join(s.strip() for s in segments if s.strip())


@dataclass(frozen=True, slots=True)
class SegmentedText:
    """One text (question, title or passage) as the segments it is translated through."""

    segments: tuple[str, ...]


def segment_text(text: str, *, split: bool, max_words: int = DEFAULT_MAX_WORDS) -> SegmentedText:
    """Passages are split into sentences; questions and titles are one segment unless too long."""
    if split:
        return SegmentedText(tuple(split_sentences(text, max_words)))
    norm = normalize_segment(text)
    return SegmentedText(tuple(_split_long(norm, max_words)) if norm else ())
