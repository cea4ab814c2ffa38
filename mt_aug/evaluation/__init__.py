"""Evaluation of a sentence-transformers model on LAReQA-format sets (XQuAD-R, MLQA-R): the
paper's mAP@k in the mono, cross and multilingual settings, the `mt-aug evaluate` command and
a training-time evaluator.

``LAReQAEvaluator`` is imported lazily (it pulls in sentence-transformers)."""

from __future__ import annotations

from typing import Any

from mt_aug.evaluation.lareqa import EvalDataError, LanguageSet, read_lareqa, read_sets

__all__ = ["EvalDataError", "LAReQAEvaluator", "LanguageSet", "read_lareqa", "read_sets"]


def __getattr__(name: str) -> Any:
    if name == "LAReQAEvaluator":
        from mt_aug.evaluation.evaluator import LAReQAEvaluator

        return LAReQAEvaluator
    raise AttributeError(name)
