"""The evaluation itself (shared by `mt-aug evaluate` and the training-time evaluator).

Settings, as in arXiv 2408.10536 and LAReQA:

- mono X-X: questions of X against the candidates (sentences) of X;
- cross X-Y: questions of X against the candidates of Y, on the question ids scorable in both;
- multilingual: questions of every language against the pool of all languages' candidates;
  a question's relevant set is its answer sentence in every language holding its id.

Embeddings are L2-normalized, so scores are cosine similarities: one matrix product per
setting (in chunks of queries), reduced at once to the ranks of the relevant candidates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mt_aug.evaluation.encode import EmbeddingCache, Encoder
from mt_aug.evaluation.lareqa import LanguageSet, read_sets
from mt_aug.evaluation.metrics import PAD, ap_recall_ndcg, relevant_ranks, score_ranks

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

try:  # sentence-transformers >= 5.x keeps it here; the old path is a deprecated alias
    from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator
except ImportError:  # pragma: no cover - older sentence-transformers
    from sentence_transformers.evaluation import SentenceEvaluator

PASSAGE_NDCG_K = 10
CONTEXT_SEPARATOR = "\n\n"


@dataclass
class Embeddings:
    questions: np.ndarray
    candidates: np.ndarray
    paragraphs: np.ndarray | None = None


@dataclass
class Timings:
    encode_s: float = 0.0
    score_s: float = 0.0
    texts: int = 0
    details: list[str] = field(default_factory=list)


def candidate_texts(s: LanguageSet, with_context: bool) -> list[str]:
    """A candidate is its sentence, or (``with_context``) its sentence then its paragraph."""
    if not with_context:
        return s.candidates
    return [f"{c}{CONTEXT_SEPARATOR}{s.paragraphs[p]}" for c, p in zip(s.candidates, s.candidate_paragraph.tolist(),
                                                                      strict=True)]


def embed_sets(sets: Sequence[LanguageSet], encoder: Encoder, *, with_context: bool = False,
               passages: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Embeddings]:
    """Embeddings of every language, each language's texts encoded once (through the cache)."""
    out: dict[str, Embeddings] = {}
    ckind = "candidates+context" if with_context else "candidates"
    for s in sets:
        if log:
            log(f"{s.lang}: {len(s.questions)} questions, {len(s.candidates)} candidates ({s.path})")
        q = encoder.encode(s.questions, file_sha=s.sha256, kind="questions", label=s.lang)
        c = encoder.encode(candidate_texts(s, with_context), file_sha=s.sha256, kind=ckind, label=s.lang)
        p = encoder.encode(s.paragraphs, file_sha=s.sha256, kind="paragraphs", label=s.lang) if passages else None
        out[s.lang] = Embeddings(q, c, p)
    return out


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def score_sets(sets: Sequence[LanguageSet], emb: dict[str, Embeddings], *, k: int = 20,
               device: str = "cpu", passages: bool = False, chunk: int = 1024) -> dict[str, Any]:
    """The metric part of a report: map/recall per setting, counts, pair sizes.

    One matrix product per chunk of questions against the whole pool (every language's
    candidates, in the order of ``sets``): the multilingual ranks come from the full rows, the
    mono and cross ranks of language Y from the columns of Y."""
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k})")
    langs = [s.lang for s in sets]
    answer_of = {s.lang: s.answer_of for s in sets}
    offsets, off = {}, 0
    for s in sets:
        offsets[s.lang] = off
        off += len(s.candidates)
    pool = torch.cat([torch.from_numpy(emb[lang].candidates) for lang in langs]).to(device)

    multi_ranks: list[np.ndarray] = []
    pair_ranks: dict[str, list[np.ndarray]] = {f"{x}-{y}": [] for x in langs for y in langs}
    pairs: dict[str, dict[str, int]] = {}
    for sx in sets:
        x = sx.lang
        # answer[y][i]: candidate index (within y) of question i's answer in y, or PAD.
        answer = {y: np.asarray([answer_of[y].get(qid, PAD) for qid in sx.question_ids], dtype=np.int64)
                  for y in langs}
        rel = np.stack([np.where(answer[y] >= 0, answer[y] + offsets[y], PAD) for y in langs], axis=1)
        rel = -np.sort(-rel, axis=1)  # real indices first, PAD last
        width = max(1, int((rel >= 0).sum(1).max(initial=1)))
        rel_t = torch.from_numpy(np.ascontiguousarray(rel[:, :width])).to(device)
        ans_t = {y: torch.from_numpy(a).to(device) for y, a in answer.items()}
        for y in langs:
            n_keep = int((answer[y] >= 0).sum())
            pairs[f"{x}-{y}"] = {"questions": n_keep, "skipped": len(sx.question_ids) - n_keep}
        q = torch.from_numpy(emb[x].questions).to(device)
        for i in range(0, q.shape[0], chunk):
            scores = q[i:i + chunk] @ pool.T
            multi_ranks.append(relevant_ranks(scores, rel_t[i:i + chunk], k).cpu().numpy())
            for y in langs:
                a = ans_t[y][i:i + chunk]
                keep = a >= 0
                if bool(keep.any()):
                    sub = scores[keep, offsets[y]:offsets[y] + emb[y].candidates.shape[0]]
                    pair_ranks[f"{x}-{y}"].append(relevant_ranks(sub, a[keep][:, None], k).cpu().numpy())

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

    report: dict[str, Any] = {
        "k": k,
        "languages": langs,
        "questions": {s.lang: len(s.question_ids) for s in sets},
        "candidates": {s.lang: len(s.candidates) for s in sets},
        "unscorable": {s.lang: {"count": len(s.unscorable), "examples": dict(list(s.unscorable.items())[:5])}
                       for s in sets},
        "pairs": pairs,
        "multilingual_questions": sum(len(s.question_ids) for s in sets),
        "multilingual_candidates": off,
        "map": {"multilingual": multi_map, "mono": mono_map, "cross": cross_map,
                "mono_mean": _mean(list(mono_map.values())), "cross_mean": _mean(list(cross_map.values()))},
        "recall": {"multilingual": multi_rec, "mono": mono_rec, "cross": cross_rec,
                   "mono_mean": _mean(list(mono_rec.values())), "cross_mean": _mean(list(cross_rec.values()))},
    }
    if passages:
        ndcg = {}
        for s in sets:
            p = emb[s.lang].paragraphs
            assert p is not None
            q = torch.from_numpy(emb[s.lang].questions).to(device)
            rel_p = torch.from_numpy(s.question_paragraph[:, None].copy()).to(device)
            ranks = score_ranks(q, torch.from_numpy(p).to(device), rel_p, PASSAGE_NDCG_K)
            ndcg[s.lang] = float(ap_recall_ndcg(ranks, PASSAGE_NDCG_K)[2].mean()) if len(ranks) else float("nan")
        report[f"passage_ndcg@{PASSAGE_NDCG_K}"] = ndcg
    return report


def evaluate(model: SentenceTransformer, sets: Sequence[LanguageSet], *, k: int = 20, batch_size: int = 64,
             with_context: bool = False, passages: bool = False, cache: EmbeddingCache | None = None,
             show_progress: bool = False, model_hash: str = "",
             log: Callable[[str], None] | None = None) -> tuple[dict[str, Any], Timings]:
    """Encode (through the cache) and score: the report dict (without model fields) and timings."""
    encoder = Encoder(model, batch_size=batch_size, cache=cache or EmbeddingCache(None),
                      show_progress=show_progress, model_hash=model_hash)
    timings = Timings()
    t0 = time.perf_counter()
    emb = embed_sets(sets, encoder, with_context=with_context, passages=passages, log=log)
    timings.encode_s = time.perf_counter() - t0
    timings.texts = sum(len(s.questions) + len(s.candidates) + (len(s.paragraphs) if passages else 0) for s in sets)
    timings.details = list(encoder.cache.events)
    t0 = time.perf_counter()
    report = score_sets(sets, emb, k=k, device=str(model.device), passages=passages)
    timings.score_s = time.perf_counter() - t0
    report["candidate_text"] = "sentence+paragraph" if with_context else "sentence"
    return report, timings


class LAReQAEvaluator(SentenceEvaluator):
    """mAP@k on LAReQA-format sets (XQuAD-R, MLQA-R) during sentence-transformers training.

    Example::

        from mt_aug.evaluation import LAReQAEvaluator

        evaluator = LAReQAEvaluator.from_paths("xquad-r/{lang}.json", languages=["en", "de", "zh"], k=20)
        metrics = evaluator(model)  # {'xquad-r_map_multilingual': ..., 'xquad-r_map_mono_mean': ..., ...}
        # or: SentenceTransformerTrainer(..., evaluator=evaluator) logs them at every evaluation

    Returns mAP@k for the multilingual pool, the mono and cross means and every mono language
    (plus recall@k); ``primary_metric`` is the multilingual mAP. Embeddings are not cached (the
    weights change between calls). With ``output_path``, each call appends its full report as one
    JSON line to ``<output_path>/lareqa_<name>_results.jsonl``.
    """

    def __init__(self, sets: Sequence[LanguageSet], *, k: int = 20, batch_size: int = 64, name: str = "lareqa",
                 with_context: bool = False, per_pair: bool = False, show_progress_bar: bool = False) -> None:
        super().__init__()
        if not sets:
            raise ValueError("LAReQAEvaluator needs at least one language set")
        self.sets = list(sets)
        self.k = k
        self.batch_size = batch_size
        self.name = name
        self.with_context = with_context
        self.per_pair = per_pair
        self.show_progress_bar = show_progress_bar
        self.primary_metric = "map_multilingual"
        self.greater_is_better = True
        self.last_report: dict[str, Any] | None = None

    @classmethod
    def from_paths(cls, paths: str, languages: Sequence[str] | None = None, *, strict: bool = False,
                   **kwargs: Any) -> LAReQAEvaluator:
        """``paths``: a pattern with ``{lang}`` (e.g. ``'xquad-r/{lang}.json'``); ``languages``:
        which ones (default: every file the pattern matches)."""
        return cls(read_sets(paths, list(languages) if languages else None, strict=strict), **kwargs)

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1,
                 steps: int = -1) -> dict[str, float]:
        was_training = model.training
        try:
            report, _ = evaluate(model, self.sets, k=self.k, batch_size=self.batch_size,
                                 with_context=self.with_context, show_progress=self.show_progress_bar)
        finally:
            model.train(was_training)
        self.last_report = report
        metrics: dict[str, float] = {}
        for kind in ("map", "recall"):
            part = report[kind]
            metrics[f"{kind}_multilingual"] = part["multilingual"]
            metrics[f"{kind}_mono_mean"] = part["mono_mean"]
            if len(self.sets) > 1:
                metrics[f"{kind}_cross_mean"] = part["cross_mean"]
            if kind == "map":
                metrics.update({f"map_mono_{lang}": v for lang, v in part["mono"].items()})
                if self.per_pair:
                    metrics.update({f"map_cross_{pair}": v for pair, v in part["cross"].items()})
        if output_path is not None:
            out = Path(output_path)
            out.mkdir(parents=True, exist_ok=True)
            with open(out / f"lareqa_{self.name}_results.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps({"epoch": epoch, "steps": steps, **report}, ensure_ascii=False) + "\n")
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    @property
    def description(self) -> str:
        return "LAReQA mAP"

    def get_config_dict(self) -> dict[str, Any]:
        return {"k": self.k, "languages": [s.lang for s in self.sets], "with_context": self.with_context}
