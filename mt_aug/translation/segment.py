"""Sentence segmentation before translation, and reassembly after.

blingfire splits text into sentences (it knows abbreviations, decimals and quotes; its
model ships in the wheel and it is about 75x faster than pysbd on SQuAD);
sacremoses' Moses rules normalize punctuation so that segments differing only in quote or dash
style are one segment for the cache (run by punct.FastPunctNormalizer: the same output, much
sooner). A sentence longer than the model's limit is split further
at clause punctuation, then at word boundaries: never truncated. A run without spaces longer
than any word (MAX_WORD_CHARS) is cut into pieces, each its own segment, and counted: sent
whole it would take the model minutes.
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass

import blingfire

from mt_aug import languages
from mt_aug.translation.punct import fast_normalizer

DEFAULT_MAX_WORDS = 80
# A run of characters without a space longer than this is cut into pieces of it before the model
# (counted): the longest words of SQuAD, XQuAD and German compounds are under 50 characters; in
# zh / ja / th, written without spaces, a run is a clause (XQuAD's longest: 211 characters).
MAX_WORD_CHARS = 64
MAX_UNSPACED_CHARS = 512
_CLAUSE = re.compile(r"(?<=[,;:])\s+")


def normalize_segment(text: str, lang: str = "en") -> str:
    """The exact text sent to a model: Moses punctuation normalization, single spaces.

    (`" ".join(s.split())` is `re.sub(r"\\s+", " ", s).strip()`: str.split and re's \\s agree on
    every code point, which tests/test_segment_speed.py checks.)"""
    return " ".join(fast_normalizer(lang).normalize(text).split())


def max_word_chars(lang: str) -> int:
    """The longest run without spaces sent to a model as one piece (MAX_WORD_CHARS)."""
    return MAX_WORD_CHARS if languages.is_spaced(lang) else MAX_UNSPACED_CHARS


def _segments(text: str, max_words: int, lang: str, cut: list[int] | None = None) -> list[str]:
    """`_split_long(normalize_segment(text, lang), max_words)`, or [] for an empty segment,
    splitting into words once. A word longer than `max_word_chars(lang)` is cut into pieces of
    that length, each its own segment (the words around it segmented as usual); `cut` (a
    one-element counter) counts such words."""
    norm = fast_normalizer(lang).normalize(text)
    limit = max_word_chars(lang)
    words = norm.split()
    if not words:
        return []
    if len(norm) > limit and max(map(len, words)) > limit:
        return _cut_long_words(words, max_words, limit, cut)
    if len(words) <= max_words:
        return [" ".join(words)]
    return _split_long(" ".join(words), max_words)


def _cut_long_words(words: list[str], max_words: int, limit: int, cut: list[int] | None) -> list[str]:
    """Segments of `words` where some are longer than `limit` characters: runs of ordinary words
    as `_split_long` splits them, every long word as pieces of `limit` characters (no language
    has such words: a hash, base64, a URL, garbage; sent whole, the model's time grows with the
    square of its length, 30 s for 3,000 characters)."""
    out: list[str] = []
    run: list[str] = []
    for w in words:
        if len(w) <= limit:
            run.append(w)
            continue
        if run:
            out += _split_long(" ".join(run), max_words)
            run = []
        out += [w[i : i + limit] for i in range(0, len(w), limit)]
        if cut is not None:
            cut[0] += 1
    if run:
        out += _split_long(" ".join(run), max_words)
    return out


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


class _Sentences(threading.local):
    """`blingfire.text_to_sentences`, calling the same native function with the same arguments
    but into an output buffer kept per thread (blingfire's wrapper allocates and zeroes a new
    one per call, a third of its time on a passage). The function's own ctypes object is used
    (a private handle on blingfire's library, so blingfire's is left as it is)."""

    _lib: ctypes.CDLL | None = None
    buffer: ctypes.Array[ctypes.c_char] | None = None

    @classmethod
    def library(cls) -> ctypes.CDLL | None:
        if cls._lib is None:
            try:
                cls._lib = ctypes.CDLL(blingfire.blingfire._name)
            except (AttributeError, OSError):  # pragma: no cover - another blingfire layout
                return None
        return cls._lib

    def __call__(self, text: str) -> str:
        lib = self.library()
        data = text.encode("utf-8")
        if lib is None or not data:
            return blingfire.text_to_sentences(text)
        size = len(data) * 2  # as blingfire's wrapper: the same limit on the output
        if self.buffer is None or len(self.buffer) < size:
            self.buffer = ctypes.create_string_buffer(max(size, 1 << 14))
        n = lib.TextToSentences(ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(self.buffer),
                                ctypes.c_int(size))
        if n == -1 or n > size:
            return ""
        out = ctypes.string_at(self.buffer, n)
        end = out.find(b"\0")
        if end < 0:  # pragma: no cover - not NUL-terminated within what it wrote: blingfire's own reading
            return blingfire.text_to_sentences(text)
        return out[:end].decode("utf-8")  # what blingfire's wrapper reads: up to the first NUL


_text_to_sentences = _Sentences()


def split_sentences(text: str, max_words: int = DEFAULT_MAX_WORDS, lang: str = "en",
                    cut: list[int] | None = None) -> list[str]:
    """Text -> normalized segments, each at most `max_words` words, in order. Control
    characters are removed first (they confuse tokenizers and are never meaningful here).
    `cut`: a one-element counter of the over-long words cut into pieces (`_segments`)."""
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for sentence in _text_to_sentences(text).split("\n"):
        out += _segments(sentence, max_words, lang, cut)
    return out


def join_segments(segments: list[str], lang: str) -> str:
    """Reassemble translated segments into one passage, in order."""
    sep = " " if languages.is_spaced(lang) else ""
    return sep.join(s.strip() for s in segments if s.strip())


@dataclass(frozen=True, slots=True)
class SegmentedText:
    """One text (question, title or passage) as the segments it is translated through."""

    segments: tuple[str, ...]


def segment_text(text: str, *, split: bool, max_words: int = DEFAULT_MAX_WORDS,
                 cut: list[int] | None = None) -> SegmentedText:
    """Passages are split into sentences; questions and titles are one segment unless too long.
    `cut`: counts the over-long words cut into pieces."""
    if split:
        return SegmentedText(tuple(split_sentences(text, max_words, cut=cut)))
    return SegmentedText(tuple(_segments(text, max_words, "en", cut)))
