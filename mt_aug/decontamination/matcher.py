"""Removing everything that overlaps an evaluation set, with the evidence for each removal.

An `EvalIndex` is built once per build and language over every eval text of that language
(eval_sets.py reads them: SQuAD-format JSON, MIRACL topics / qrels / judged passages, BEIR
JSONL). A training text (English before translation, each translated view after it) is
matched in this order; the first hit condemns it:

1. **exact**: its normalized text (normalize.normalize_text: NFKC, casefold, punctuation and
   safe diacritics removed, whitespace collapsed; for zh / ja / th spaces are ignored too)
   equals an eval text's.
2. **ngram** (texts of at least n tokens; n=13 by default, as in GPT-3 and NeMo Curator): it
   shares an n-token window with any eval text. Tokens are words; in zh, ja and th they are
   characters (a Latin or digit run counts as one), and the window is as many characters as
   n English words take (CHAR_NGRAM_SCALE: 22 for zh, 72 for th at n=13). Eval n-grams are
   64-bit hashes in one sorted numpy array (12 bytes each), looked up in batches with
   searchsorted; every hash hit is confirmed token by token against the stored eval tokens,
   so a hash collision never drops a pair.
3. **similarity** (questions, and texts too short to have an n-gram): token edit similarity
   ``1 - levenshtein(a, b) / max(len(a), len(b))`` of at least `similarity`
   (decontamination.question_similarity, 0.9): one word changed in a 10-word question, or
   two in a 20-word one. No all-pairs comparison: a text of L tokens is at most
   d = floor((1 - s) / s * L) edits from any match, and d edits remove at most d * q of its
   distinct units (tokens, q=1; or character q-grams in zh / ja / th, SIGNATURE_Q), so a match
   shares one of the d * q + 1 rarest units of each side (prefix filtering; rarity is
   document frequency among the eval texts). Each eval text is posted under its rarest units
   only, a query probes its own and verifies the few candidates with a bounded edit distance.
   Texts shorter than about 1 / (1 - s) tokens (10 at 0.9) allow no edit: only the exact test
   applies to them, so a short common phrase never condemns anything but itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa

from mt_aug import languages
from mt_aug.config import EvalSetConfig
from mt_aug.decontamination.eval_sets import EvalText, read_eval_set, read_eval_squad
from mt_aug.normalize import normalize_text, tokens
from mt_aug.readers import SourceError

__all__ = ["EvalIndex", "EvalText", "Match", "build_index", "read_eval_set", "read_eval_squad"]

log = logging.getLogger(__name__)

# Scripts written without spaces between words. Their characters are tokens; a run of other
# characters inside such text (a Latin name, a number) is one token, like a word.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_UNSPACED_TOKEN = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
# Characters per English word, measured on the parallel XQuAD paragraphs (zh 1.73, th 5.5 code
# points per English word; ja estimated). An n-gram of n *words* in English is a window of
# n * scale characters in these languages: 13 Thai code points are two or three words, and
# 233 of the 240 Thai XQuAD paragraphs share such a window with a paragraph of another
# article (none does at 13 English words, nor in zh or th at the scaled windows).
CHAR_NGRAM_SCALE = {"zh": 1.7, "ja": 2.5, "th": 5.5}
# Units of the similarity filter in languages tokenized by characters: character q-grams of about
# one word. Single characters are too common to filter on (Thai has a few dozen letters: the
# rarest of a question's are in every other question); measured on XQuAD questions, candidates
# per Thai query fall from 130 (q=2) to 23 (3) and 6 (5).
SIGNATURE_Q = {"zh": 2, "ja": 3, "th": 5}
# Texts longer than this are not similarity-checked (they have n-grams); bounds the edit distance work.
SIMILARITY_MAX_TOKENS = 256
# Eval tokens hashed per slice when an index is frozen (bounds its temporary memory).
HASH_SLICE = 1 << 18
# The distinct eval texts of an index, as stored (EvalIndex.to_state)
_DOCS = pa.schema([pa.field("eval_set", pa.string(), nullable=False), pa.field("eval_id", pa.string(), nullable=False),
                   pa.field("field", pa.string(), nullable=False)])
# Texts matched per batch (normalization is per text; hashing and lookups are vectorized per batch).
BATCH = 4096


@dataclass(frozen=True, slots=True)
class Match:
    eval_set: str
    eval_id: str
    field: str  # which field of the training text matched: question | passage
    method: str  # exact | ngram | similarity
    evidence: str  # the normalized text (exact), the shared n-gram (ngram), the eval text (similarity)
    score: float | None = None  # similarity only

    def detail(self) -> dict[str, object]:
        out: dict[str, object] = {
            "eval_set": self.eval_set,
            "eval_id": self.eval_id,
            "field": self.field,
            "method": self.method,
            "matched": self.evidence[:200],
        }
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


# --- hashing -------------------------------------------------------------------------------

_C1, _C2, _C3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_BASE = np.uint64(0x100000001B3)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer over a uint64 array (arithmetic wraps modulo 2**64)."""
    x = x + _C1
    x = (x ^ (x >> _S30)) * _C2
    x = (x ^ (x >> _S27)) * _C3
    return x ^ (x >> _S31)


def _windows(ids: np.ndarray, lens: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of every n-token window of concatenated texts, whether each window lies inside one
    text, and the text each window starts in."""
    total = len(ids)
    w = total - n + 1
    if w <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool), empty
    m = _mix(ids.astype(np.uint64))
    h = m[:w].copy()
    for k in range(1, n):
        h *= _BASE
        h += m[k : k + w]
    h = _mix(h)
    starts = np.zeros(len(lens), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    text_of = np.repeat(np.arange(len(lens), dtype=np.int64), lens)[:w]
    valid = (np.arange(w, dtype=np.int64) - starts[text_of]) <= (lens[text_of] - n)
    return h, valid, text_of


def match_tokens(normalized: str, lang: str) -> list[str]:
    """Tokens for matching: words (normalize.tokens) for space-delimited scripts; for zh, ja and
    th one token per character, except that a run of Latin letters or digits is one token."""
    if languages.is_spaced(lang):
        return tokens(normalized, lang)
    return _UNSPACED_TOKEN.findall(normalized)


def ngram_window(n: int, lang: str) -> int:
    """The n-gram length used for a language: n words, or about as many characters as n words
    take in a language tokenized by characters."""
    return max(n, round(n * CHAR_NGRAM_SCALE.get(lang, 1.0)))


def _d_max(length: int, s: float) -> int:
    """Most edits a text of `length` tokens can be from a text it is `s`-similar to."""
    return int((1.0 - s) * length / s + 1e-9)


def _edit_distance_within(a: Sequence[int], b: Sequence[int], k: int) -> int | None:
    """Levenshtein distance of two token sequences if it is at most k, else None."""
    i, la, lb = 0, len(a), len(b)
    while i < la and i < lb and a[i] == b[i]:
        i += 1
    a, b = a[i:], b[i:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    la, lb = len(a), len(b)
    if abs(la - lb) > k:
        return None
    if la == 0 or lb == 0:
        return max(la, lb)
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ai, row_min = a[i - 1], i
        for j in range(1, lb + 1):
            c = prev[j - 1] + (ai != b[j - 1])
            if prev[j] + 1 < c:
                c = prev[j] + 1
            if cur[j - 1] + 1 < c:
                c = cur[j - 1] + 1
            cur[j] = c
            if c < row_min:
                row_min = c
        if row_min > k:
            return None
        prev = cur
    return prev[lb] if prev[lb] <= k else None


# --- the index -----------------------------------------------------------------------------

class EvalIndex:
    """All eval texts of one language, indexed for matching (see the module docstring)."""

    def __init__(self, lang: str, n: int = 13, similarity: float = 0.9) -> None:
        if n < 1 or not 0.0 < similarity <= 1.0:
            raise ValueError(f"bad index parameters n={n}, similarity={similarity}")
        self.lang, self.n, self.similarity = lang, n, similarity
        self.window = ngram_window(n, lang)  # n-gram length in tokens of this language
        self.spaced = languages.is_spaced(lang)
        self.files: list[str] = []
        self.counts: dict[str, int] = {}  # eval_set -> texts indexed
        self.warnings: list[str] = []  # from the readers (e.g. a corpus without qrels)
        self.build_seconds = 0.0
        self._added = 0
        self._docs: list[tuple[str, str, str]] = []  # distinct eval texts: (eval_set, eval_id, field)
        self._exact: dict[bytes, int] = {}  # hash of the normalized text -> doc
        self._vocab: dict[str, int] = {}  # token -> id (from 1; 0 = not in any eval text)
        # n-grams
        # texts with n-grams added since the last freeze: their tokens, lengths and docs, compactly
        self._pending_tokens, self._pending_lens, self._pending_docs = array("i"), array("q"), array("q")
        self._tokens = np.zeros(0, dtype=np.int32)  # token ids of every n-gram-indexed doc, concatenated
        self._seg_start = np.zeros(0, dtype=np.int64)  # where each of those docs starts in _tokens
        self._seg_doc = np.zeros(0, dtype=np.int64)
        self._gram_hash = np.zeros(0, dtype=np.uint64)  # sorted, distinct
        self._gram_pos = np.zeros(0, dtype=np.int32)  # window start in _tokens of the first doc holding it
        # similarity
        self._sim_doc: list[int] = []
        self._sim_ids: list[tuple[int, ...]] = []
        self._sim_text: list[str] = []
        self._q = SIGNATURE_Q.get(lang, 1) if not self.spaced else 1
        self._df: dict[object, int] = {}
        self._postings: dict[object, list[int]] = {}
        self._by_length: dict[int, list[int]] = {}
        self._dirty = False

    # building

    def _key(self, norm: str, toks: list[str]) -> bytes:
        text = norm if self.spaced else "".join(toks)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def _sim_eligible(self, field_name: str, length: int) -> bool:
        """Texts the similarity test applies to: questions, and texts too short for n-grams."""
        return 0 < length <= SIMILARITY_MAX_TOKENS and (field_name == "question" or length < self.window)

    def add(self, item: EvalText) -> None:
        norm = normalize_text(item.text, self.lang)
        if not norm:
            return
        toks = match_tokens(norm, self.lang)
        self._added += 1
        self.counts[item.eval_set] = self.counts.get(item.eval_set, 0) + 1
        key = self._key(norm, toks)
        if key in self._exact:  # the same text again (another split, XQuAD and XQuAD-R): first one wins
            return
        doc = len(self._docs)
        self._docs.append((item.eval_set, item.eval_id, item.field))
        self._exact[key] = doc
        vocab = self._vocab
        ids = [vocab.setdefault(t, len(vocab) + 1) for t in toks]
        if len(ids) >= self.window:
            self._pending_tokens.extend(ids)
            self._pending_lens.append(len(ids))
            self._pending_docs.append(doc)
        # Eval questions, and eval texts short enough to be similar to a text shorter than n
        # tokens (at most (n - 1) / s tokens). A text that allows no edit is left to the exact test.
        length = len(ids)
        if (0 < length <= SIMILARITY_MAX_TOKENS and _d_max(length, self.similarity) > 0
                and (item.field == "question" or length <= (self.window - 1) / self.similarity + 1e-9)):
            self._sim_doc.append(doc)
            self._sim_ids.append(tuple(ids))
            self._sim_text.append(norm)
        self._dirty = True

    def freeze(self) -> None:
        """Build the lookup structures from what was added (again, if more was added since)."""
        if not self._dirty:
            return
        if self._pending_lens:
            self._index_pending()
        df: dict[object, int] = {}
        sigs = [self._signature(ids) for ids in self._sim_ids]
        for sig in sigs:
            for u in sig:
                df[u] = df.get(u, 0) + 1
        postings: dict[object, list[int]] = {}
        by_length: dict[int, list[int]] = {}
        for j, (ids, sig) in enumerate(zip(self._sim_ids, sigs, strict=True)):
            for u in self._prefix(sig, _d_max(len(ids), self.similarity), df):
                postings.setdefault(u, []).append(j)
            by_length.setdefault(len(ids), []).append(j)
        self._df, self._postings, self._by_length = df, postings, by_length
        self._dirty = False

    def _index_pending(self) -> None:
        """Hash the n-grams of the texts added since the last freeze into the sorted arrays."""
        n = self.window
        lens = np.array(self._pending_lens, dtype=np.int64)
        flat = np.array(self._pending_tokens, dtype=np.int32)
        docs = np.array(self._pending_docs, dtype=np.int64)
        self._pending_tokens, self._pending_lens, self._pending_docs = array("i"), array("q"), array("q")
        base = len(self._tokens)
        starts = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        ends = starts + lens
        pos_type = np.int32 if base + len(flat) < (1 << 31) else np.int64
        old = len(self._gram_hash)
        hash_all = np.empty(old + int((lens - n + 1).sum()), dtype=np.uint64)
        pos_all = np.empty(len(hash_all), dtype=pos_type)
        hash_all[:old], pos_all[:old] = self._gram_hash, self._gram_pos
        self._gram_hash = self._gram_pos = np.zeros(0)
        fill, lo = old, 0
        while lo < len(lens):  # in slices of HASH_SLICE tokens: bounded temporary memory
            hi = min(len(lens), max(lo + 1, int(np.searchsorted(ends, starts[lo] + HASH_SLICE, side="right"))))
            h, valid, _ = _windows(flat[starts[lo] : ends[hi - 1]], lens[lo:hi], n)
            pos = np.nonzero(valid)[0]
            hash_all[fill : fill + len(pos)] = h[pos]
            pos_all[fill : fill + len(pos)] = pos + (base + starts[lo])
            fill += len(pos)
            lo = hi
        del h, valid, pos
        order = np.argsort(hash_all, kind="stable")  # stable: the first doc holding an n-gram wins
        pos_all = pos_all[order]
        del order
        hash_all.sort(kind="stable")  # in place: the same order, without another copy
        first = np.ones(len(hash_all), dtype=bool)
        first[1:] = hash_all[1:] != hash_all[:-1]
        self._gram_hash, self._gram_pos = hash_all[first], pos_all[first]
        self._tokens = np.concatenate([self._tokens, flat])
        self._seg_start = np.concatenate([self._seg_start, starts + base])
        self._seg_doc = np.concatenate([self._seg_doc, docs])

    # matching

    def _hit(self, doc: int, field_name: str, method: str, evidence: str, score: float | None = None) -> Match:
        eval_set, eval_id, _ = self._docs[doc]
        return Match(eval_set, eval_id, field_name, method, evidence, score)

    def _ngram_hits_flat(self, flat_ids: array[int], query_lens: array[int]) -> dict[int, tuple[int, int]]:
        """query number -> (eval doc, window start) of its first n-gram found in the index, for the
        queries' token ids concatenated and their lengths (int64 arrays)."""
        if not len(query_lens) or not len(self._gram_hash):
            return {}
        n = self.window
        lens = np.frombuffer(query_lens, dtype=np.int64)
        flat = np.frombuffer(flat_ids, dtype=np.int64)
        h, valid, text_of = _windows(flat, lens, n)
        unknown = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(flat == 0, out=unknown[1:])
        valid &= (unknown[n:] - unknown[:-n]) == 0  # a window with a token no eval text has cannot match
        cand = np.nonzero(valid)[0]
        hv = h[cand]
        idx = np.searchsorted(self._gram_hash, hv)
        idx[idx == len(self._gram_hash)] = 0
        found = self._gram_hash[idx] == hv
        cand, idx = cand[found], idx[found]
        out: dict[int, tuple[int, int]] = {}
        if not len(cand):
            return out
        starts = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        for w, gi in zip(cand.tolist(), idx.tolist(), strict=True):  # ascending: first window of each text first
            q = int(text_of[w])
            if q in out:
                continue
            p = int(self._gram_pos[gi])
            if np.array_equal(flat[w : w + n], self._tokens[p : p + n]):
                seg = int(np.searchsorted(self._seg_start, p, side="right")) - 1
                out[q] = (int(self._seg_doc[seg]), w - int(starts[q]))
        return out

    def _signature(self, ids: Sequence[int]) -> set[object]:
        """The distinct units prefix filtering works on: tokens, or q-grams of tokens. An edit
        changes at most q units, so a text d edits away lacks at most d * q of them."""
        q = self._q
        if q == 1:
            return set(ids)
        return {tuple(ids[i : i + q]) for i in range(len(ids) - q + 1)}

    def _prefix(self, sig: set[object], d: int, df: dict[object, int]) -> list[object]:
        """The d * q + 1 rarest units (by eval document frequency, ties by value: one global order)."""
        get = df.get
        ranked = sorted([(get(u, 0), u) for u in sig])  # units are distinct: the same order as a key
        return [u for _, u in ranked[: d * self._q + 1]]

    def _similar(self, toks: list[str], field_name: str) -> Match | None:
        s = self.similarity
        length = len(toks)
        dq = _d_max(length, s)
        if dq == 0 or not self._postings:
            return None
        get = self._vocab.get
        ids = [get(t) or -(k + 1) for k, t in enumerate(toks)]  # tokens no eval text has: unique, never equal
        sig = self._signature(ids)
        cands: set[int] = set()
        if len(sig) > dq * self._q:
            if len(sig.difference(self._df)) > dq * self._q:
                # the d * q + 1 rarest units are all in no eval text (df 0, no postings): no candidate
                return None
            postings = self._postings
            for u in self._prefix(sig, dq, self._df):
                if u in postings:  # (a unit no eval text has, df 0, has none)
                    cands.update(postings[u])
        else:  # too few distinct units to be sure to share one (a repetitive text): compare by length
            for size in range(length - dq, length + dq + 1):
                cands.update(self._by_length.get(size, ()))
        best: tuple[float, int] | None = None
        for j in sorted(cands):
            e = self._sim_ids[j]
            longest = max(length, len(e))
            k = int((1.0 - s) * longest + 1e-9)
            dist = _edit_distance_within(ids, e, k)
            if dist is None:
                continue
            score = 1.0 - dist / longest
            if score >= s - 1e-9 and (best is None or score > best[0]):
                best = (score, j)
        if best is None:
            return None
        score, j = best
        return self._hit(self._sim_doc[j], field_name, "similarity", self._sim_text[j], score)

    def match_many(self, texts: Sequence[str], field_name: str) -> list[Match | None]:
        """For each text, the first eval text it overlaps (exact, then n-gram, then similarity)."""
        self.freeze()
        out: list[Match | None] = [None] * len(texts)
        n, lang, spaced, exact = self.window, self.lang, self.spaced, self._exact
        get = self._vocab.get
        blake2b = hashlib.blake2b
        sim_ok = self._sim_eligible
        # shortest text the similarity test can match (shorter ones allow no edit: _similar skips them)
        sim_min = next((k for k in range(1, SIMILARITY_MAX_TOKENS + 1) if _d_max(k, self.similarity) > 0),
                       SIMILARITY_MAX_TOKENS + 1)
        for lo in range(0, len(texts), BATCH):
            ng_ids, ng_lens = array("q"), array("q")  # n-gram queries: token ids (0 = in no eval text)
            ng_which: list[tuple[int, list[str]]] = []
            sim_which: list[tuple[int, list[str]]] = []
            for i in range(lo, min(lo + BATCH, len(texts))):
                norm = normalize_text(texts[i], lang)
                if not norm:
                    continue
                # as match_tokens and _key do
                toks = norm.split() if spaced else _UNSPACED_TOKEN.findall(norm)
                doc = exact.get(blake2b((norm if spaced else "".join(toks)).encode("utf-8"), digest_size=16).digest())
                if doc is not None:
                    out[i] = self._hit(doc, field_name, "exact", norm)
                    continue
                if len(toks) >= n:
                    ng_ids.extend(map(get, toks, repeat(0)))
                    ng_lens.append(len(toks))
                    ng_which.append((i, toks))
                if len(toks) >= sim_min and sim_ok(field_name, len(toks)):
                    sim_which.append((i, toks))
            for q, (doc, start) in self._ngram_hits_flat(ng_ids, ng_lens).items():
                i, toks = ng_which[q]
                out[i] = self._hit(doc, field_name, "ngram", self._join(toks[start : start + n]))
            for i, toks in sim_which:
                if out[i] is None:
                    out[i] = self._similar(toks, field_name)
        return out

    def _join(self, toks: list[str]) -> str:
        """Tokens back into text: spaces between words, none between characters of zh / ja / th."""
        if self.spaced:
            return " ".join(toks)
        return " ".join("".join(t if _UNSPACED_CHAR.fullmatch(t) else f" {t} " for t in toks).split())

    def match(self, text: str, field_name: str) -> Match | None:
        """The first eval text this training text overlaps, or None."""
        return self.match_many([text], field_name)[0]

    # as data (a cached eval-index stage result: mt_aug.pipeline.results, no pickle)

    def to_state(self) -> tuple[dict[str, Any], dict[str, pa.Table]]:
        """The frozen index as (JSON-able settings and counts, Arrow tables of its contents).
        The similarity postings are not stored: `from_state` derives them as `freeze` does."""
        self.freeze()
        meta = {"lang": self.lang, "n": self.n, "similarity": self.similarity, "files": list(self.files),
                "counts": dict(self.counts), "warnings": list(self.warnings), "build_seconds": self.build_seconds,
                "added": self._added}
        tables = {
            "docs": pa.table({"eval_set": [d[0] for d in self._docs], "eval_id": [d[1] for d in self._docs],
                              "field": [d[2] for d in self._docs]}, schema=_DOCS),
            "exact": pa.table({"key": pa.array(list(self._exact), pa.binary(16)),
                               "doc": pa.array(list(self._exact.values()), pa.int64())}),
            "vocab": pa.table({"token": pa.array(list(self._vocab), pa.string()),
                               "id": pa.array(list(self._vocab.values()), pa.int64())}),
            "tokens": pa.table({"id": pa.array(self._tokens, pa.int32())}),
            "segments": pa.table({"start": pa.array(self._seg_start, pa.int64()),
                                  "doc": pa.array(self._seg_doc, pa.int64())}),
            "grams": pa.table({"hash": pa.array(self._gram_hash, pa.uint64()),
                               "pos": pa.array(self._gram_pos.astype(np.int64), pa.int64())}),
            "similar": pa.table({"doc": pa.array(self._sim_doc, pa.int64()),
                                 "ids": pa.array([list(x) for x in self._sim_ids], pa.list_(pa.int64())),
                                 "text": pa.array(self._sim_text, pa.string())}),
        }
        return meta, tables

    @classmethod
    def from_state(cls, meta: dict[str, Any], tables: dict[str, pa.Table]) -> EvalIndex:
        """The index `to_state` described; ValueError / KeyError / TypeError when the data is not
        of the types it writes."""
        def col(table: str, name: str, dtype: pa.DataType) -> pa.ChunkedArray:
            c = tables[table].column(name)
            if c.type != dtype or c.null_count:
                raise ValueError(f"{table}.{name}: {c.type}, not {dtype}")
            return c

        def arr(table: str, name: str, dtype: pa.DataType, np_type: type) -> np.ndarray:
            return np.array(col(table, name, dtype).to_numpy(), dtype=np_type)

        if not (isinstance(meta.get("lang"), str) and type(meta.get("n")) is int
                and isinstance(meta.get("similarity"), float) and type(meta.get("added")) is int):
            raise ValueError("settings of another type")
        files, counts, warnings = meta.get("files"), meta.get("counts"), meta.get("warnings")
        if not (isinstance(files, list) and all(isinstance(f, str) for f in files) and isinstance(counts, dict)
                and all(isinstance(k, str) and type(v) is int for k, v in counts.items())
                and isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)
                and isinstance(meta.get("build_seconds"), (int, float))):
            raise ValueError("counts of another type")
        idx = cls(meta["lang"], meta["n"], meta["similarity"])
        idx.files, idx.counts, idx.warnings = list(files), dict(counts), list(warnings)
        idx.build_seconds, idx._added = float(meta["build_seconds"]), meta["added"]
        if tables["docs"].schema != _DOCS:
            raise ValueError("docs: another schema")
        idx._docs = list(zip(*(tables["docs"].column(k).to_pylist() for k in _DOCS.names), strict=True))
        n_docs = len(idx._docs)
        docs = arr("exact", "doc", pa.int64(), np.int64)
        if len(docs) and (docs.min() < 0 or docs.max() >= n_docs):
            raise ValueError("exact: doc out of range")
        idx._exact = dict(zip(col("exact", "key", pa.binary(16)).to_pylist(), docs.tolist(), strict=True))
        idx._vocab = dict(zip(col("vocab", "token", pa.string()).to_pylist(),
                              arr("vocab", "id", pa.int64(), np.int64).tolist(), strict=True))
        idx._tokens = arr("tokens", "id", pa.int32(), np.int32)
        idx._seg_start = arr("segments", "start", pa.int64(), np.int64)
        idx._seg_doc = arr("segments", "doc", pa.int64(), np.int64)
        idx._gram_hash = arr("grams", "hash", pa.uint64(), np.uint64)
        pos = arr("grams", "pos", pa.int64(), np.int64)
        if len(idx._seg_doc) != len(idx._seg_start) or len(pos) != len(idx._gram_hash):
            raise ValueError("n-gram arrays of different lengths")
        if len(pos) and (pos.min() < 0 or pos.max() + idx.window > len(idx._tokens)):
            raise ValueError("grams: position out of range")
        if len(idx._seg_doc) and (idx._seg_doc.min() < 0 or idx._seg_doc.max() >= n_docs):
            raise ValueError("segments: doc out of range")
        idx._gram_pos = pos.astype(np.int32) if len(idx._tokens) < (1 << 31) else pos
        sim_doc = arr("similar", "doc", pa.int64(), np.int64)
        if len(sim_doc) and (sim_doc.min() < 0 or sim_doc.max() >= n_docs):
            raise ValueError("similar: doc out of range")
        idx._sim_doc = sim_doc.tolist()
        idx._sim_ids = [tuple(x) for x in col("similar", "ids", pa.list_(pa.int64())).to_pylist()]
        idx._sim_text = col("similar", "text", pa.string()).to_pylist()
        if not len(idx._sim_ids) == len(idx._sim_text) == len(idx._sim_doc):
            raise ValueError("similar: columns of different lengths")
        idx._dirty = True
        idx.freeze()  # the similarity postings, from the stored texts, as when it was built
        return idx

    def stats(self) -> dict[str, int]:
        return {"texts": self._added, "distinct": len(self._docs), "ngrams": len(self._gram_hash),
                "similarity_texts": len(self._sim_ids), "vocabulary": len(self._vocab)}

    def __len__(self) -> int:
        return self._added


def build_index(eval_sets: list[EvalSetConfig], lang: str, n: int, similarity: float = 0.9) -> EvalIndex | None:
    """The index over every eval set's files for one language, or None if none has any.

    An eval set that yields nothing for a language it has files for is an error, never an
    index that silently matches nothing."""
    selected = [es for es in eval_sets if es.files(lang)]
    if not selected:
        return None
    t0 = time.perf_counter()
    index = EvalIndex(lang=lang, n=n, similarity=similarity)
    for es in selected:
        files = es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)
        index.files += [str(p) for p in files]
        before = len(index)
        for item in read_eval_set(es, lang, index.warnings):
            index.add(item)
        if len(index) == before:
            raise SourceError(f"{', '.join(str(p) for p in es.files(lang))}: eval set {es.name!r} ({lang}) "
                              "added no texts to the index")
    index.freeze()
    index.build_seconds = time.perf_counter() - t0
    log.info("eval index %s: %s in %.1fs", lang, index.stats(), index.build_seconds)
    return index
