"""BM25, the lexical baseline of `mt-aug evaluate --model bm25`, on bm25s's index.

bm25s (Lucene's BM25: k1 = 1.5, b = 0.75, idf = log(1 + (N - df + 0.5) / (df + 0.5))) builds
the index: a sparse matrix of every (document, term) weight. A query's scores are the sum of
its terms' columns, counted with repetition (what ``bm25s.BM25.get_scores`` computes), so a
chunk of queries is scored at once as one sparse product ``Q @ S.T``: the same figures, every
document's score (ranks need them all, not the top k).

Tokenization, per language: the text is normalized as everywhere in mt-aug
(:func:`mt_aug.normalize.normalize_text`: NFKC, casefold, punctuation removed, diacritics
stripped where the language's script allows), then split into words at spaces; a run of
characters of a script written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer,
Myanmar) becomes its overlapping character bigrams (a run of one character stays itself), in
any language's text, so a name written alike in two languages gives the same tokens. No
stemming and no stop words (one rule for every language).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from mt_aug.normalize import normalize_text

K1, B, METHOD = 1.5, 0.75, "lucene"

# Scripts written without spaces between words: CJK ideographs (and extensions, compatibility),
# hiragana, katakana (and half-width), Thai, Lao, Khmer, Myanmar.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
                       r"\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]+")

TOKENIZER = ("normalize_text(lang), words at spaces; overlapping character bigrams for runs of "
             "Chinese, Japanese kana, Thai, Lao, Khmer and Myanmar characters")


def tokenize(text: str, lang: str) -> list[str]:
    """BM25 tokens of one text (see the module docstring)."""
    out: list[str] = []
    for word in normalize_text(text, lang).split():
        if _UNSPACED.search(word) is None:
            out.append(word)
            continue
        pos = 0
        for m in _UNSPACED.finditer(word):
            if m.start() > pos:
                out.append(word[pos:m.start()])
            run = m.group()
            out.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
            pos = m.end()
        if pos < len(word):
            out.append(word[pos:])
    return out


@dataclass
class BM25Index:
    """A bm25s index over documents of any languages (each tokenized with its own), and
    dense score blocks for queries."""

    vocab: dict[str, int]
    matrix: sp.csr_matrix  # [n_docs, n_terms] BM25 weights

    @classmethod
    def build(cls, docs: Sequence[str], langs: Sequence[str] | str) -> BM25Index:
        import bm25s

        per_doc = [langs] * len(docs) if isinstance(langs, str) else list(langs)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(d, lang)] for d, lang in zip(docs, per_doc,
                                                                                               strict=True)]
        if not vocab:  # nothing to index (no document holds a token): every score is 0
            return cls({}, sp.csr_matrix((len(docs), 0), dtype=np.float32))
        index = bm25s.BM25(k1=K1, b=B, method=METHOD)
        index.index((ids, dict(vocab)), show_progress=False, create_empty_token=False)
        s = index.scores
        n_terms = len(s["indptr"]) - 1
        csc = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], n_terms))
        return cls(vocab, csc.tocsr().astype(np.float32))

    @property
    def size(self) -> int:
        return int(self.matrix.shape[0])

    def queries(self, texts: Sequence[str], lang: str) -> sp.csr_matrix:
        """Term counts of queries over this index's vocabulary [n, n_terms] (unknown terms dropped)."""
        indptr, cols = [0], []
        for t in texts:
            cols.extend(self.vocab[w] for w in tokenize(t, lang) if w in self.vocab)
            indptr.append(len(cols))
        data = np.ones(len(cols), dtype=np.float32)
        q = sp.csr_matrix((data, np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                          shape=(len(texts), len(self.vocab)))
        q.sum_duplicates()
        return q

    def scores(self, queries: sp.csr_matrix, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Dense float32 scores [n_queries, stop - start] of documents start..stop."""
        block = self.matrix[start:stop]
        return torch.from_numpy(np.ascontiguousarray((queries @ block.T).toarray(), dtype=np.float32))
