"""Evaluation of a sentence-transformers model (or BM25) on LAReQA-format sets (XQuAD-R,
MLQA-R: the paper's mAP@k in the mono, cross and multilingual settings, language bias, bitext
mining) and on BEIR-layout sets (nDCG@10, Recall@100, MRR@10): the `mt-aug evaluate` command
and a training-time evaluator.

``LAReQAEvaluator`` is imported lazily (it pulls in sentence-transformers)."""

from __future__ import annotations

from typing import Any

from mt_aug.evaluation.lareqa import EvalDataError, LanguageSet, read_lareqa, read_sets

__all__ = ["EvalDataError", "LAReQAEvaluator", "LanguageSet", "read_lareqa", "read_sets"]


def __getattr__(name: str) -> Any:
    if name == "LAReQAEvaluator":
        from mt_aug.evaluation.sentence_evaluator import LAReQAEvaluator

        return LAReQAEvaluator
    raise AttributeError(name)
