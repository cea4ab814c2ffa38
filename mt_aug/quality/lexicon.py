"""Content words kept: every rare content word of the source must have a translation in the
output, by the bilingual lexicon the translation model ships with.

Bergamot (Marian) models carry a lexical shortlist (`lex.*.s2t.bin`): for each source
SentencePiece, the target pieces the model may produce for it (the best `bestNum` by word
alignment on the model's training data). The shortlist is a probabilistic dictionary made by the
same data as the model, so a source word none of whose candidate pieces appear in the output was
most likely dropped or turned into something else ("footballs", "gesturing", "home schooling" ->
"educação"). The check is a word list look-up: no model call.

Only words rarer than `max_zipf` in the source language count (wordfreq's Zipf frequency:
function words and light verbs, "take", "set", "like", have many renderings the shortlist cannot
list); a word copied or adapted in the output ("thylakoids" / "tilacoides") is kept.

The binary format is Marian's `BinaryShortlistGenerator` (src/data/shortlist.h): a header of six
uint64 (magic, checksum, firstNum, bestNum, wordToOffsetSize, shortListsSize), then
`wordToOffset` (uint64[wordToOffsetSize]) and `shortLists` (uint32[shortListsSize]); the
candidates of source piece `i` are `shortLists[wordToOffset[i]:wordToOffset[i + 1]]`.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

import numpy as np
import sentencepiece as spm

from mt_aug.config import ModelSpec
from mt_aug.quality.signal import Case, Signal
from mt_aug.quality.text import is_latin_word, present, word_pool, words, zipf
from mt_aug.translation import bergamot

_MAGIC = 0xF11A48D5013417F5
_HEADER = struct.Struct("<6Q")


class LexiconError(ValueError):
    pass


class Lexicon:
    """A Marian binary shortlist and its SentencePiece vocabulary (shared by source and target,
    as in every Bergamot model)."""

    def __init__(self, shortlist: Path, vocab: Path) -> None:
        data = shortlist.read_bytes()
        if len(data) < _HEADER.size:
            raise LexiconError(f"{shortlist}: not a Marian binary shortlist (too short)")
        magic, _checksum, first, self.best, n_offsets, n_lists = _HEADER.unpack_from(data)
        if magic != _MAGIC or len(data) != _HEADER.size + 8 * n_offsets + 4 * n_lists:
            raise LexiconError(f"{shortlist}: not a Marian binary shortlist (magic or size differs)")
        self._offsets = np.frombuffer(data, dtype="<u8", count=n_offsets, offset=_HEADER.size)
        self._lists = np.frombuffer(data, dtype="<u4", count=n_lists, offset=_HEADER.size + 8 * n_offsets)
        if n_offsets and (int(self._offsets[-1]) > n_lists or bool((np.diff(self._offsets.astype(np.int64)) < 0).any())):
            raise LexiconError(f"{shortlist}: not a Marian binary shortlist (offsets out of order or range)")
        self._spm = spm.SentencePieceProcessor(model_file=str(vocab))
        size = self._spm.get_piece_size()
        if size + 1 != n_offsets:
            raise LexiconError(f"{shortlist}: made for a vocabulary of {n_offsets - 1} pieces, {vocab} has {size}")
        # Target pieces that prove a translation: not among the `firstNum` most frequent ones
        # (the vocabulary is sorted by frequency; Marian gives those to every source word:
        # punctuation, articles, prepositions), and a word's start or 3+ letters ("u" of
        # "vende|u" is no translation of "cattle").
        pieces = [self._spm.id_to_piece(i) for i in range(size)]
        self._telling = np.array([i >= first and (p.startswith("\u2581") or len(p) >= 3) for i, p in enumerate(pieces)])
        self.path = shortlist

    @lru_cache(maxsize=8192)  # noqa: B019 (one Lexicon per model per process: `load`)
    def candidates(self, word: str) -> frozenset[int]:
        """The target piece ids the model may write for a source word (as written and lowercased)."""
        found: set[int] = set()
        for form in {word, word.lower()}:
            for i in self._spm.encode(form):
                cands = self._lists[self._offsets[i]:self._offsets[i + 1]]
                found.update(int(t) for t in cands[self._telling[cands]])
        return frozenset(found)

    def lost_words(self, source: str, output: str, src: str, max_zipf: float) -> list[str]:
        """The source's content words at most `max_zipf` common (wordfreq's Zipf frequency in
        `src`; unknown words, typos, are not checked) with no candidate piece in the output, not
        copied and not adapted there (in source order)."""
        out_ids: set[int] | None = None
        lowered: set[int] | None = None  # the output lowercased ("MEL" is "mel"), encoded when needed
        pool = word_pool(output)
        lost = []
        for w in words(source):
            if len(w) < 3 or not w.isalpha() or not is_latin_word(w) or not 0.0 < zipf(w.lower(), src) <= max_zipf:
                continue  # common words have many renderings; unknown ones are typos or names copied as they are
            if present(w, pool):
                continue
            cands = self.candidates(w)
            if out_ids is None:
                out_ids = set(self._spm.encode(output))
            if cands & out_ids:
                continue
            if lowered is None:
                lowered = set(self._spm.encode(output.lower()))
            if cands & lowered:
                continue
            lost.append(w)
        return lost


    def source_pieces(self, source: str) -> frozenset[int]:
        """Every target piece the model may write for some word of the source."""
        return _source_pieces(self, source)

    def explains(self, source: str, word: str) -> bool:
        """A capitalized output word is a common word the lexicon gives for some source word:
        its lowercase form is one piece of the vocabulary, a candidate of a source word
        ("Estados" of "states", as the EU's "Estados-Membros"). Lowercase only: a name's own
        pieces come with the shortlists of words it co-occurs with ("born" lists "▁Londres"),
        and lowercased it falls into fragments ("▁lo", "nd", "res")."""
        ids = self._spm.encode(word.lower())  # a common word is one piece of the vocabulary; a name
        return len(ids) == 1 and ids[0] in self.source_pieces(source)  # lowercased falls into fragments

    @lru_cache(maxsize=16384)  # noqa: B019 (one Lexicon per model per process)
    def _pieces(self, word: str) -> frozenset[int]:
        return frozenset(i for i in self._spm.encode(word) if self._telling[i])


@lru_cache(maxsize=1024)
def _source_pieces(lexicon: Lexicon, source: str) -> frozenset[int]:
    found: set[int] = set()
    for w in words(source):
        found |= lexicon.candidates(w)
    return frozenset(found)


def knows_language(lang: str) -> bool:
    """wordfreq has a word list for the source language (the signal needs one)."""
    from wordfreq import available_languages

    return lang in available_languages()


@lru_cache(maxsize=8)
def load(shortlist: Path, vocab: Path) -> Lexicon:
    """One Lexicon per file pair per process."""
    return Lexicon(shortlist, vocab)


def folder_lexicon(model_dir: Path) -> Lexicon | None:
    """The lexicon of a Marian/Bergamot model folder (`lex*.s2t.bin` and one `*.spm` vocabulary),
    None when the folder has none."""
    lex = sorted(model_dir.glob("lex*.s2t.bin"))
    spm_files = sorted(model_dir.glob("*.spm"))
    if not lex or len(spm_files) != 1:
        return None
    return load(lex[0], spm_files[0])


def model_lexicon(spec: ModelSpec, src: str, tgt: str) -> Lexicon | None:
    """The bilingual lexicon the model a spec names ships: Bergamot models and Marian folders
    with a `lex*.s2t.bin` shortlist; None for the others."""
    if spec.backend == "bergamot":
        return folder_lexicon(bergamot.model_dir(src, tgt))
    folder = Path(spec.model)
    return folder_lexicon(folder) if folder.is_dir() else None


class Coverage(Signal):
    """`quality.coverage`: "word lost", a rare source word with no translation in the output by
    the model's own lexicon (runs only with one)."""

    name = "coverage"
    reasons = ("word lost",)
    uses = frozenset({"lexicon"})

    def check(self, case: Case) -> None:
        assert self.target.lexicon is not None  # active only with one
        gone = self.target.lexicon.lost_words(case.source, case.text, self.target.src, self.cfg.max_zipf)
        if len(gone) > self.cfg.max_lost:
            case.fail("word lost", f"no translation of {gone}")
