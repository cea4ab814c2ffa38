"""`LAReQAEvaluator`: the evaluation of mt_aug.evaluation.evaluator as a sentence-transformers
evaluator, for SentenceTransformerTrainer (imports sentence-transformers)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mt_aug.evaluation.evaluator import evaluate
from mt_aug.evaluation.lareqa import LanguageSet, read_sets

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

try:  # sentence-transformers >= 5.x keeps it here; the old path is a deprecated alias
    from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator
except ImportError:  # pragma: no cover - older sentence-transformers
    from sentence_transformers.evaluation import SentenceEvaluator

log = logging.getLogger(__name__)


class LAReQAEvaluator(SentenceEvaluator):
    """mAP@k and language bias on LAReQA-format sets (XQuAD-R, MLQA-R) during
    sentence-transformers training.

    Example::

        from mt_aug.evaluation import LAReQAEvaluator

        evaluator = LAReQAEvaluator.from_paths("xquad-r/{lang}.json", languages=["en", "de", "zh"], k=20)
        metrics = evaluator(model)  # {'xquad-r_map_multilingual': ..., 'xquad-r_map_mono_mean': ..., ...}
        # or: SentenceTransformerTrainer(..., evaluator=evaluator) logs them at every evaluation

    Returns mAP@k for the multilingual pool, the mono and cross means and every mono language
    (plus recall@k), and the multilingual pool's language bias: ``rank_distance`` and
    ``same_language_first`` (means over questions); ``primary_metric`` is the multilingual mAP.
    Each call also logs one line with the headline figures (logger ``mt_aug.evaluation.sentence_evaluator``).
    Embeddings are not cached (the weights change between calls). With ``output_path``, each
    call appends its full report as one JSON line to ``<output_path>/lareqa_<name>_results.jsonl``.
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
                                 with_context=self.with_context, bitext=False, show_progress=self.show_progress_bar)
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
        bias = report["language_bias"]
        metrics["rank_distance"] = bias["rank_distance"]["mean"]
        metrics["same_language_first"] = bias["same_language_first"]["mean"]
        log.info("%s (epoch %s, step %s): mAP@%d multilingual %.4f, mono mean %.4f; language bias: rank distance "
                 "%.2f, same language first %.4f (chance %.4f)", self.name, epoch, steps, self.k,
                 report["map"]["multilingual"], report["map"]["mono_mean"], bias["rank_distance"]["mean"],
                 bias["same_language_first"]["mean"], bias["same_language_first"]["chance"])
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
