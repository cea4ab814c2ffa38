"""The evaluation itself (shared by `mt-aug evaluate` and the training-time evaluator).

Settings, as in arXiv 2408.10536 and LAReQA:

- mono X-X: questions of X against the candidates (sentences) of X;
- cross X-Y: questions of X against the candidates of Y, on the question ids scorable in both;
- multilingual: questions of every language against the pool of all languages' candidates;
  a question's relevant set is its answer sentence in every language holding its id;
- language bias, in the multilingual pool: how far apart a question's relevant candidates
  rank (``rank_distance``) and whether its own language's answer comes first
  (``same_language_first``), from the full ranks (mt_aug.evaluation.metrics.language_bias_rows).

Scores come from a scorer (mt_aug.evaluation.scoring): cosine similarities of L2-normalized
embeddings, or BM25. One product per chunk of questions against the whole pool (the chunk
sized so one score block stays under SCORE_BLOCK_ELEMENTS), reduced at once to the ranks of
the relevant candidates; the mono and cross settings read their language's columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from mt_aug.evaluation.bitext import all_have_passage_ids, bitext_mining
from mt_aug.evaluation.encode import EmbeddingCache, Encoder
from mt_aug.evaluation.lareqa import LanguageSet
from mt_aug.evaluation.metrics import PAD, ap_recall_ndcg, language_bias_rows, relevant_ranks
from mt_aug.evaluation.scoring import BM25, BM25Scorer, DenseScorer, Embeddings, Scorer, Timings, offsets_of

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["BM25", "Embeddings", "Timings", "candidate_texts", "embed_sets", "evaluate", "score_sets"]

PASSAGE_NDCG_K = 10
CONTEXT_SEPARATOR = "\n\n"
SCORE_BLOCK_ELEMENTS = 1 << 26  # scores held at once (float32: 256 MB), whatever the pool's size


def candidate_texts(s: LanguageSet, with_context: bool) -> list[str]:
    """A candidate is its sentence, or (``with_context``) its sentence then its paragraph."""
    if not with_context:
        return s.candidates
    return [f"{c}{CONTEXT_SEPARATOR}{s.paragraphs[p]}" for c, p in zip(s.candidates, s.candidate_paragraph.tolist(),
                                                                      strict=True)]


def embed_sets(sets: Sequence[LanguageSet], encoder: Encoder, *, with_context: bool = False,
               passages: bool = False, sentences: bool = False,
               log: Callable[[str], None] | None = None) -> dict[str, Embeddings]:
    """Embeddings of every language, each language's texts encoded once (through the cache).
    ``sentences``: also the sentences alone where candidates carry their context (bitext)."""
    out: dict[str, Embeddings] = {}
    ckind = "candidates+context" if with_context else "candidates"
    for s in sets:
        if log:
            log(f"{s.lang}: {len(s.questions)} questions, {len(s.candidates)} candidates ({s.path})")
        q = encoder.encode(s.questions, file_sha=s.sha256, kind="questions", label=s.lang)
        c = encoder.encode(candidate_texts(s, with_context), file_sha=s.sha256, kind=ckind, label=s.lang)
        p = encoder.encode(s.paragraphs, file_sha=s.sha256, kind="paragraphs", label=s.lang) if passages else None
        st = (encoder.encode(s.candidates, file_sha=s.sha256, kind="candidates", label=s.lang)
              if sentences and with_context else None)
        out[s.lang] = Embeddings(q, c, p, st)
    return out


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def score_sets(sets: Sequence[LanguageSet], scorer: Scorer | dict[str, Embeddings], *, k: int = 20,
               device: str = "cpu", passages: bool = False, bitext: bool = False, chunk: int | None = None,
               timings: Timings | None = None) -> dict[str, Any]:
    """The metric part of a report: map/recall per setting, language bias, counts, pair sizes
    (and with ``passages`` paragraph-level nDCG@10, with ``bitext`` bitext mining).

    ``scorer``: a Scorer, or a dict of embeddings per language (cosine scores). One score
    block per chunk of questions against the whole pool (every language's candidates, in the
    order of ``sets``): the multilingual ranks and the language bias come from the full rows,
    the mono and cross ranks of language Y from Y's candidates."""
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    if isinstance(scorer, dict):
        scorer = DenseScorer(sets, scorer, device)
    langs = [s.lang for s in sets]
    answer_of = {s.lang: s.answer_of for s in sets}
    offsets = offsets_of(sets)
    pool_size = sum(len(s.candidates) for s in sets)
    if chunk is None:
        chunk = max(1, min(1024, SCORE_BLOCK_ELEMENTS // max(1, pool_size)))

    multi_ranks: list[np.ndarray] = []
    pair_ranks: dict[str, list[np.ndarray]] = {f"{x}-{y}": [] for x in langs for y in langs}
    pairs: dict[str, dict[str, int]] = {}
    distance: dict[str, list[np.ndarray]] = {x: [] for x in langs}
    first: dict[str, list[np.ndarray]] = {x: [] for x in langs}
    n_langs: list[np.ndarray] = []
    bias_s = 0.0
    for sx in sets:
        x = sx.lang
        # answer[y][i]: candidate index (within y) of question i's answer in y, or PAD.
        answer = {y: np.asarray([answer_of[y].get(qid, PAD) for qid in sx.question_ids], dtype=np.int64)
                  for y in langs}
        rel = np.stack([np.where(answer[y] >= 0, answer[y] + offsets[y], PAD) for y in langs], axis=1)
        rel = -np.sort(-rel, axis=1)  # real indices first, PAD last
        width = max(1, int((rel >= 0).sum(1).max(initial=1)))
        rel_t = torch.from_numpy(np.ascontiguousarray(rel[:, :width])).to(device)
        own_t = torch.from_numpy(answer[x] + offsets[x]).to(device)
        ans_t = {y: torch.from_numpy(a).to(device) for y, a in answer.items()}
        for y in langs:
            n_keep = int((answer[y] >= 0).sum())
            pairs[f"{x}-{y}"] = {"questions": n_keep, "skipped": len(sx.question_ids) - n_keep}
        for i in range(0, len(sx.question_ids), chunk):
            rows = slice(i, i + chunk)
            scores = scorer.pool(x, rows)
            multi_ranks.append(relevant_ranks(scores, rel_t[rows], k).cpu().numpy())
            _sync(device)
            t0 = time.perf_counter()
            d, f, n = language_bias_rows(scores, rel_t[rows], own_t[rows])
            distance[x].append(d.cpu().numpy())
            first[x].append(f.cpu().numpy())
            n_langs.append(n.cpu().numpy())
            bias_s += time.perf_counter() - t0
            for y in langs:
                a = ans_t[y][rows]
                keep = a >= 0
                if bool(keep.any()):
                    sub = scorer.within(x, y, rows, scores)[keep]
                    pair_ranks[f"{x}-{y}"].append(relevant_ranks(sub, a[keep][:, None], k).cpu().numpy())
    if timings is not None:
        timings.bias_s += bias_s

    def summarize(parts: list[np.ndarray]) -> tuple[float, float]:
        if not parts or sum(len(p) for p in parts) == 0:  # no scorable question (counted in pairs)
            return float("nan"), float("nan")
        ap, recall, _ = ap_recall_ndcg(np.concatenate(parts), k)
        return float(ap.mean()), float(recall.mean())

    multi_map, multi_rec = summarize(multi_ranks)
    mono_map, mono_rec, cross_map, cross_rec = {}, {}, {}, {}
    for x in langs:
        for y in langs:
            m, r = summarize(pair_ranks[f"{x}-{y}"])
            if x == y:
                mono_map[x], mono_rec[x] = m, r
            else:
                cross_map[f"{x}-{y}"], cross_rec[f"{x}-{y}"] = m, r

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0)

    all_d, all_f, all_n = cat([cat(distance[x]) for x in langs]), cat([cat(first[x]) for x in langs]), cat(n_langs)
    language_bias = {
        "rank_distance": {"mean": float(all_d.mean()) if len(all_d) else float("nan"),
                          "by_language": {x: float(cat(distance[x]).mean()) if sum(map(len, distance[x]))
                                          else float("nan") for x in langs}},
        "same_language_first": {"mean": float(all_f.mean()) if len(all_f) else float("nan"),
                                "by_language": {x: float(cat(first[x]).mean()) if sum(map(len, first[x]))
                                                else float("nan") for x in langs},
                                "chance": float((1.0 / all_n).mean()) if len(all_n) else float("nan")},
    }

    report: dict[str, Any] = {
        "k": k,
        "languages": langs,
        "questions": {s.lang: len(s.question_ids) for s in sets},
        "candidates": {s.lang: len(s.candidates) for s in sets},
        "unscorable": {s.lang: {"count": len(s.unscorable), "examples": dict(list(s.unscorable.items())[:5])}
                       for s in sets},
        "pairs": pairs,
        "multilingual_questions": sum(len(s.question_ids) for s in sets),
        "multilingual_candidates": pool_size,
        "map": {"multilingual": multi_map, "mono": mono_map, "cross": cross_map,
                "mono_mean": _mean(list(mono_map.values())), "cross_mean": _mean(list(cross_map.values()))},
        "recall": {"multilingual": multi_rec, "mono": mono_rec, "cross": cross_rec,
                   "mono_mean": _mean(list(mono_rec.values())), "cross_mean": _mean(list(cross_rec.values()))},
        "language_bias": language_bias,
    }
    if passages:
        ndcg = {}
        for s in sets:
            parts = []
            rel_p = torch.from_numpy(s.question_paragraph[:, None].copy()).to(device)
            for i in range(0, len(s.question_ids), chunk):
                rows = slice(i, i + chunk)
                parts.append(relevant_ranks(scorer.paragraphs(s.lang, rows), rel_p[rows], PASSAGE_NDCG_K).cpu().numpy())
            ranks = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.int64)
            ndcg[s.lang] = float(ap_recall_ndcg(ranks, PASSAGE_NDCG_K)[2].mean()) if len(ranks) else float("nan")
        report[f"passage_ndcg@{PASSAGE_NDCG_K}"] = ndcg
    if bitext:
        report["bitext_mining"] = bitext_mining(sets, scorer, chunk=chunk)
    return report


def evaluate(model: SentenceTransformer | Literal["bm25"], sets: Sequence[LanguageSet], *, k: int = 20,
             batch_size: int = 64, with_context: bool = False, passages: bool = False, bitext: bool | None = None,
             cache: EmbeddingCache | None = None, show_progress: bool = False, model_hash: str = "",
             log: Callable[[str], None] | None = None) -> tuple[dict[str, Any], Timings]:
    """Encode (through the cache) or index (``model="bm25"``) and score: the report dict
    (without model fields) and timings. ``bitext``: True, False, or None: when every paragraph
    carries a ``passage_id`` (a build's dev split)."""
    if bitext is None:
        bitext = len(sets) > 1 and all_have_passage_ids(sets)
    timings = Timings()
    t0 = time.perf_counter()
    scorer: Scorer
    if isinstance(model, str):
        if model != BM25:
            raise ValueError(f"model {model!r}: a SentenceTransformer or {BM25!r}")
        if with_context:
            raise ValueError("with_context: BM25 ranks the sentences themselves")
        scorer = BM25Scorer(sets)
        device = "cpu"
        timings.details = [f"{s.lang}: {len(s.candidates)} candidates indexed (bm25)" for s in sets]
    else:
        encoder = Encoder(model, batch_size=batch_size, cache=cache or EmbeddingCache(None),
                          show_progress=show_progress, model_hash=model_hash)
        emb = embed_sets(sets, encoder, with_context=with_context, passages=passages, sentences=bitext, log=log)
        device = str(model.device)
        scorer = DenseScorer(sets, emb, device)
        timings.details = list(encoder.cache.events)
    timings.encode_s = time.perf_counter() - t0
    timings.texts = sum(len(s.questions) + len(s.candidates) + (len(s.paragraphs) if passages else 0) for s in sets)
    t0 = time.perf_counter()
    report = score_sets(sets, scorer, k=k, device=device, passages=passages, bitext=bitext, timings=timings)
    timings.score_s = time.perf_counter() - t0
    report["candidate_text"] = "sentence+paragraph" if with_context else "sentence"
    return report, timings
