"""Compatibility: the single-segment check of the previous gate, now answered by `Gate`."""

from __future__ import annotations

from mt_aug.config import QualityConfig
from mt_aug.quality.basic import repeat_fraction
from mt_aug.quality.gate import Gate
from mt_aug.quality.langid import language_confidence
from mt_aug.translation.base import Translation

__all__ = ["check", "language_confidence", "repeat_fraction"]


def check(source: str, out: Translation, tgt: str, cfg: QualityConfig, candidates: tuple[str, ...],
          src: str = "en") -> str | None:
    """The first quality problem of one translated segment, or None if it passes. Without a
    model at hand: the signals that need one (names translated alone, word lost, round-trip)
    do not run; `judge_with_roundtrip` runs them all."""
    return Gate(cfg, src, tgt, candidates).judge_one(source, out).reason
