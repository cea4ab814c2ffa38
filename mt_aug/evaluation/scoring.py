"""Scores of LAReQA questions against candidates, from embeddings (cosine) or from BM25.

Both scorers answer the same questions, so every setting, the language bias and bitext
mining are computed by one code path (mt_aug.evaluation.evaluator and .bitext):

- ``pool(x, rows)``: questions ``rows`` of language x against the multilingual pool (every
  language's candidates, in the order of the sets);
- ``within(x, y, rows, pool_scores)``: the same questions against the candidates of y alone;
- ``paragraphs(x, rows)``: against the paragraphs of x (passage-level nDCG);
- ``sentences(a, b, idx)``: sentences ``idx`` of a (as queries) against every sentence of b.

Dense: one product per chunk; the candidates of y are columns of the pool's product.
BM25: each candidate set is its own index (the multilingual pool one, every language one, so
a language's idf and average length are its own in mono and cross-lingual settings), each
text tokenized with its language's rules (mt_aug.evaluation.bm25).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import scipy.sparse as sp
import torch

from mt_aug.evaluation.bm25 import BM25Index
from mt_aug.evaluation.lareqa import LanguageSet


BM25: Literal["bm25"] = "bm25"  # `--model bm25`: the lexical baseline instead of a model


@dataclass
class Timings:
    encode_s: float = 0.0  # encoding, or building the BM25 indexes
    score_s: float = 0.0  # every setting, language bias and bitext mining included
    bias_s: float = 0.0  # of score_s: the language-bias counts
    texts: int = 0
    details: list[str] = field(default_factory=list)


@dataclass
class Embeddings:
    questions: np.ndarray
    candidates: np.ndarray  # what is ranked (the sentence, or the sentence + its paragraph)
    paragraphs: np.ndarray | None = None
    sentences: np.ndarray | None = None  # sentence-only embeddings where candidates carry context


class Scorer(Protocol):
    def pool(self, x: str, rows: slice) -> torch.Tensor: ...
    def within(self, x: str, y: str, rows: slice, pool_scores: torch.Tensor) -> torch.Tensor: ...
    def paragraphs(self, x: str, rows: slice) -> torch.Tensor: ...
    def sentences(self, a: str, b: str, idx: np.ndarray) -> torch.Tensor: ...


def as_tensor(a: np.ndarray, device: str) -> torch.Tensor:
    """float32 tensor of an array (copied when read-only, as a memory-mapped cache file is)."""
    return torch.from_numpy(a if a.flags.writeable else np.array(a)).to(device)


def offsets_of(sets: Sequence[LanguageSet]) -> dict[str, int]:
    """Pool index of each language's first candidate."""
    out, off = {}, 0
    for s in sets:
        out[s.lang] = off
        off += len(s.candidates)
    return out


class DenseScorer:
    def __init__(self, sets: Sequence[LanguageSet], emb: dict[str, Embeddings], device: str = "cpu") -> None:
        self.device = device
        self.offsets = offsets_of(sets)
        self.size = {s.lang: len(s.candidates) for s in sets}
        self.emb = emb
        self.pool_t = torch.cat([as_tensor(emb[s.lang].candidates, device) for s in sets])
        self.q = {s.lang: as_tensor(emb[s.lang].questions, device) for s in sets}
        self._sent: dict[str, torch.Tensor] = {}

    def pool(self, x: str, rows: slice) -> torch.Tensor:
        return self.q[x][rows] @ self.pool_t.T

    def within(self, x: str, y: str, rows: slice, pool_scores: torch.Tensor) -> torch.Tensor:
        off = self.offsets[y]
        return pool_scores[:, off:off + self.size[y]]

    def paragraphs(self, x: str, rows: slice) -> torch.Tensor:
        p = self.emb[x].paragraphs
        assert p is not None, "paragraph embeddings were not computed"
        return self.q[x][rows] @ as_tensor(p, self.device).T

    def _sentences(self, lang: str) -> torch.Tensor:
        if lang not in self._sent:
            e = self.emb[lang]
            sentences = e.sentences if e.sentences is not None else e.candidates
            self._sent[lang] = as_tensor(sentences, self.device)
        return self._sent[lang]

    def sentences(self, a: str, b: str, idx: np.ndarray) -> torch.Tensor:
        return self._sentences(a)[torch.from_numpy(idx).to(self.device)] @ self._sentences(b).T


class BM25Scorer:
    def __init__(self, sets: Sequence[LanguageSet]) -> None:
        self.sets = {s.lang: s for s in sets}
        langs = [lang for s in sets for lang in [s.lang] * len(s.candidates)]
        self.pool_index = BM25Index.build([c for s in sets for c in s.candidates], langs)
        self.index = {s.lang: BM25Index.build(s.candidates, s.lang) for s in sets}
        self._par_index: dict[str, BM25Index] = {}
        self._queries: dict[tuple[str, str], sp.csr_matrix] = {}  # (question lang, index) -> term counts

    def _q(self, x: str, key: str, index: BM25Index) -> sp.csr_matrix:
        if (x, key) not in self._queries:
            self._queries[(x, key)] = index.queries(self.sets[x].questions, x)
        return self._queries[(x, key)]

    def pool(self, x: str, rows: slice) -> torch.Tensor:
        return self.pool_index.scores(self._q(x, "", self.pool_index)[rows])

    def within(self, x: str, y: str, rows: slice, pool_scores: torch.Tensor) -> torch.Tensor:
        return self.index[y].scores(self._q(x, "lang:" + y, self.index[y])[rows])

    def paragraphs(self, x: str, rows: slice) -> torch.Tensor:
        if x not in self._par_index:
            self._par_index[x] = BM25Index.build(self.sets[x].paragraphs, x)
        index = self._par_index[x]
        return index.scores(self._q(x, "paragraphs", index)[rows])

    def sentences(self, a: str, b: str, idx: np.ndarray) -> torch.Tensor:
        index = self.index[b]
        texts = [self.sets[a].candidates[i] for i in idx.tolist()]
        return index.scores(index.queries(texts, a))
