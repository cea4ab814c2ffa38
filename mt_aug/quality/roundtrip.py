"""Round-trip: the output translated back by the reverse direction, scored against the source
with chrF (sacrebleu). The back-translation goes through the same engine and cache as any
translation (mt_aug.translation.engine.translate_unique)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mt_aug.config import ModelSpec
from mt_aug.config.models import RoundTripConfig
from mt_aug.quality.signal import Case, Signal
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


def reverse_spec(spec: ModelSpec, src: str, tgt: str, cfg: RoundTripConfig) -> ModelSpec | None:
    """The model that translates tgt->src for a round-trip of src->tgt output: the configured
    `quality.roundtrip.models[tgt]`, else the same Bergamot pair reversed, else the same
    NLLB/M2M model; None when there is none (a Marian pair needs its reverse configured)."""
    if tgt in cfg.models:
        return ModelSpec(**{**spec.model_dump(), **cfg.models[tgt]})
    if spec.backend == "bergamot":
        return spec if (tgt, src) in BERGAMOT_PAIRS else None
    return spec if _multilingual(spec) else None


def in_sample(source: str, share: float) -> bool:
    """Deterministic sample of segments by hash (the same segments on every run)."""
    if share >= 1.0:
        return True
    h = int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share


class RoundTrip(Signal):
    """`quality.roundtrip`: chrF of the back-translation against the source below the threshold
    ("round-trip"); runs where the gate has a back-translation (`sample` of the segments)."""

    name = "roundtrip"
    reasons = ("round-trip",)
    uses = frozenset({"back"})

    def settings(self) -> dict[str, Any]:
        # the reverse model's identity is in the key apart (Gate(reverse_model=...)); its decoding is not
        return {"min_chrf": self.cfg.threshold(self.target.tgt), "sample": self.cfg.sample,
                "model": self.cfg.models.get(self.target.tgt)}

    def check(self, case: Case) -> None:
        if case.back is not None:
            score = chrf(case.back, case.source)
            case.scores["chrf"] = round(score, 2)
            if score < self.cfg.threshold(self.target.tgt):
                case.fail("round-trip")


class RoundTripCosine(Signal):
    """`quality.roundtrip.cosine`: the cosine of an English sentence-transformers model between
    the source and its back-translation below `min` ("round-trip cosine"); runs with the
    round-trip (`quality.roundtrip.enabled`), on the same back-translations."""

    name = "roundtrip_cosine"
    reasons = ("round-trip cosine",)
    uses = frozenset({"back", "cosine"})

    @classmethod
    def section(cls, quality: Any) -> Any:
        return quality.roundtrip

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.enabled) and self.cfg.cosine is not None

    def settings(self) -> dict[str, Any]:
        # the model's identity (its weights' hash) is in the key apart (Gate(cosine_model=...))
        return {"min": self.cfg.cosine.min, "sample": self.cfg.sample, "model": self.cfg.models.get(self.target.tgt)}

    def check(self, case: Case) -> None:
        if case.cosine is not None:
            case.scores["cosine"] = round(case.cosine, 4)
            if case.cosine < self.cfg.cosine.min:
                case.fail("round-trip cosine")
