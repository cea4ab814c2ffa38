"""Bitext mining on sentence-aligned LAReQA sets (the Tatoeba / BUCC-style check of
language-agnostic embeddings).

For every ordered pair of languages (a, b), every sentence of a whose translation is known
retrieves among *all* sentences (candidates) of b; it is right when its translation comes
first (equal scores: lower candidate index first, as everywhere in mt-aug's ranks).
``accuracy["a-b"]`` is the share right; a->b and b->a are both reported.

Which sentences are translations: paragraphs are lined up across languages by their
``passage_id`` (what a build's dev split writes: the same string in every language) or, where
a paragraph has none, by the set of its question ids (XQuAD-R style files, where the same
paragraph carries the same ids in every language). Two lined-up paragraphs with the same
number of sentences are aligned sentence by sentence (sentence j is sentence j: a build
translates sentence by sentence); the others are counted (``unmatched``: no partner in b;
``unequal_sentences``: a partner with another sentence count) and left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mt_aug.evaluation.lareqa import LanguageSet
from mt_aug.evaluation.metrics import relevant_ranks
from mt_aug.evaluation.scoring import Scorer


def paragraph_key(s: LanguageSet, p: int) -> str | None:
    """What lines paragraph p up with its translations (None: nothing does)."""
    pid = s.passage_ids[p] if p < len(s.passage_ids) else None
    if pid is not None:
        return "passage_id:" + pid
    qids = s.paragraph_question_ids[p] if p < len(s.paragraph_question_ids) else ()
    return "qids:" + "\x1f".join(sorted(qids)) if qids else None


def all_have_passage_ids(sets: Sequence[LanguageSet]) -> bool:
    """Every paragraph of every set carries a ``passage_id`` (a build's dev split does)."""
    return all(s.passage_ids and all(p is not None for p in s.passage_ids) for s in sets)


def _first_and_count(s: LanguageSet) -> tuple[np.ndarray, np.ndarray]:
    n_par = len(s.paragraphs)
    count = np.bincount(s.candidate_paragraph, minlength=n_par)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return first, count


def align(sa: LanguageSet, sb: LanguageSet) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Candidate indices (in a, in b) of aligned sentence pairs, and the paragraph counts."""
    fa, ca = _first_and_count(sa)
    fb, cb = _first_and_count(sb)
    in_b = {}
    for p in range(len(sb.paragraphs)):
        key = paragraph_key(sb, p)
        if key is not None:
            in_b.setdefault(key, p)
    ia: list[np.ndarray] = []
    ib: list[np.ndarray] = []
    stats = {"paragraphs": 0, "unmatched": 0, "unequal_sentences": 0}
    for p in range(len(sa.paragraphs)):
        key = paragraph_key(sa, p)
        q = in_b.get(key) if key is not None else None
        if q is None:
            stats["unmatched"] += 1
        elif ca[p] != cb[q]:
            stats["unequal_sentences"] += 1
        else:
            stats["paragraphs"] += 1
            ia.append(np.arange(fa[p], fa[p] + ca[p]))
            ib.append(np.arange(fb[q], fb[q] + cb[q]))
    cat = (lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, dtype=np.int64))  # noqa: E731
    return cat(ia), cat(ib), stats


def bitext_mining(sets: Sequence[LanguageSet], scorer: Scorer, chunk: int = 1024) -> dict[str, Any]:
    """The report's ``bitext_mining`` section: accuracy per ordered pair, its mean, and what
    was aligned."""
    accuracy: dict[str, float] = {}
    pairs: dict[str, dict[str, int]] = {}
    for sa in sets:
        for sb in sets:
            if sa.lang == sb.lang:
                continue
            key = f"{sa.lang}-{sb.lang}"
            ia, ib, stats = align(sa, sb)
            right = 0
            for i in range(0, len(ia), chunk):
                scores = scorer.sentences(sa.lang, sb.lang, ia[i:i + chunk])
                want = torch.from_numpy(ib[i:i + chunk][:, None]).to(scores.device)
                right += int((relevant_ranks(scores, want, 1) == 1).sum())
            accuracy[key] = right / len(ia) if len(ia) else float("nan")
            pairs[key] = {"sentences": int(len(ia)), **stats}
    scored = [v for v in accuracy.values() if v == v]
    return {"accuracy": accuracy, "mean": float(np.mean(scored)) if scored else float("nan"), "pairs": pairs}
