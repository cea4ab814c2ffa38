"""Round-trip: the output translated back by the reverse direction, scored against the source
with chrF (sacrebleu). The back-translation goes through the same engine and cache as any
translation (mt_aug.translation.engine.translate_unique)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.translation.bergamot import BERGAMOT_PAIRS


def chrf(hypothesis: str, reference: str) -> float:
    """Sentence chrF (0-100) of a back-translation against the source."""
    return float(_CHRF().sentence_score(hypothesis, [reference]).score) if hypothesis.strip() else 0.0


_METRIC = None


def _CHRF():  # type: ignore[no-untyped-def]
    global _METRIC
    if _METRIC is None:
        from sacrebleu.metrics import CHRF

        _METRIC = CHRF()
    return _METRIC


def _multilingual(spec: ModelSpec) -> bool:
    """An NLLB / M2M100 model translates both ways with the same weights."""
    if "nllb" in spec.model.lower() or "m2m" in spec.model.lower():
        return True
    cfg = Path(spec.model) / "config.json"
    if cfg.is_file():
        try:
            return json.loads(cfg.read_text(encoding="utf-8")).get("model_type") == "m2m_100"
        except (OSError, ValueError):
            return False
    return False


def reverse_spec(spec: ModelSpec, src: str, tgt: str, cfg: QualityConfig) -> ModelSpec | None:
    """The model that translates tgt->src for a round-trip of src->tgt output: the configured
    `quality.roundtrip_models[tgt]`, else the same Bergamot pair reversed, else the same
    NLLB/M2M model; None when there is none (a Marian pair needs its reverse configured)."""
    if tgt in cfg.roundtrip_models:
        return ModelSpec(**{**spec.model_dump(), **cfg.roundtrip_models[tgt]})
    if spec.backend == "bergamot":
        return spec if (tgt, src) in BERGAMOT_PAIRS else None
    return spec if _multilingual(spec) else None


def in_sample(source: str, share: float) -> bool:
    """Deterministic sample of segments by hash (the same segments on every run)."""
    if share >= 1.0:
        return True
    h = int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share
