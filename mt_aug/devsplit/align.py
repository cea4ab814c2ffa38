"""Sentences of a dev passage as the LAReQA format wants them, and the sentence that holds an
English answer.

A passage is translated sentence by sentence (mt_aug.translation.segment): sentence j of a
passage is sentence j in every language. In every language the paragraph's context is its
sentences joined as the build reassembles a passage (`join_segments`), so each sentence's
`[start, end)` in the context is known exactly. The English sentences are normalized
(Moses punctuation, single spaces), so an answer's offset in the source passage is carried
into the joined context through a character alignment of the two texts (difflib)."""

from __future__ import annotations

import difflib
from bisect import bisect_right
from dataclasses import dataclass

from mt_aug import languages


@dataclass(frozen=True)
class Paragraph:
    """A passage in one language as sentences joined into a context."""

    context: str
    sentences: tuple[str, ...]
    breaks: tuple[tuple[int, int], ...]  # [start, end) of each sentence in context

    def sentence_at(self, offset: int) -> int:
        """The sentence holding character `offset` of the context (the next one where it falls
        between two sentences)."""
        starts = [s for s, _ in self.breaks]
        j = bisect_right(starts, offset) - 1
        if j >= 0 and offset < self.breaks[j][1]:
            return j
        return min(max(j + 1, 0), len(self.breaks) - 1)


def paragraph(sentences: list[str] | tuple[str, ...], lang: str) -> Paragraph:
    """Sentences joined as `mt_aug.translation.segment.join_segments` joins them (stripped,
    empty ones left out), with their spans."""
    sep = " " if languages.is_spaced(lang) else ""
    kept = tuple(s.strip() for s in sentences if s.strip())
    breaks, pos = [], 0
    for s in kept:
        breaks.append((pos, pos + len(s)))
        pos += len(s) + len(sep)
    return Paragraph(sep.join(kept), kept, tuple(breaks))


@dataclass(frozen=True)
class AnswerSpan:
    sentence: int  # index of the sentence holding the answer's start
    start: int  # offset in the joined context
    text: str  # the answer as it reads in the joined context


def locate(passage: str, answer: str, start: int) -> int:
    """The answer's offset in `passage`: `start` when the answer is there, else the occurrence of
    the answer nearest to it (a source offset off by the whitespace or control characters
    removed while reading), else `start` if it lies in the passage, else -1 (also for a negative
    `start`: no span)."""
    if start < 0:
        return -1
    if answer and passage.startswith(answer, start):
        return start
    hits, i = [], passage.find(answer) if answer else -1
    while i >= 0:
        hits.append(i)
        i = passage.find(answer, i + 1)
    if hits:
        return min(hits, key=lambda h: (abs(h - start), h))
    return start if 0 <= start < len(passage) else -1


def _carry(opcodes: Opcodes, a: int) -> int:
    """Offset `a` of the first text carried into the second through difflib's opcodes."""
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 <= a < i2:
            if tag == "equal":
                return j1 + (a - i1)
            return j1 + min(a - i1, max(j2 - j1 - 1, 0))  # replace: proportionally; delete: where it was
    return opcodes[-1][4] if opcodes else 0


Opcodes = list[tuple[str, int, int, int, int]]


def alignment(passage: str, english: Paragraph) -> Opcodes:
    """difflib's character alignment of a source passage with its joined English sentences
    (computed once per passage: every question of it uses it)."""
    return difflib.SequenceMatcher(None, passage, english.context, autojunk=False).get_opcodes()


def answer_span(passage: str, english: Paragraph, answer: str, answer_start: int,
                ops: Opcodes | None = None) -> AnswerSpan | None:
    """Where the answer (text and offset in the source `passage`) lies in the joined English
    context: None when the source's span is not in the passage. `ops`: `alignment(passage,
    english)`, when the caller has it."""
    start = locate(passage, answer, answer_start)
    if start < 0 or not english.sentences:
        return None
    end = start + max(len(answer), 1)
    ops = alignment(passage, english) if ops is None else ops
    s, e = _carry(ops, start), _carry(ops, end - 1) + 1
    j = english.sentence_at(s)
    s = max(s, english.breaks[j][0])
    text = english.context[s:max(e, s + 1)]
    return AnswerSpan(j, s, text)
