"""What the gate says about one translated segment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    """`reason`: why the segment is dropped (the first signal that fired), None if it passes.
    `failed`: every signal that fired, in gate order. `scores`: the measurements behind them
    (chrf, copy, langid, length_ratio). `evidence`: what was lost or changed, for people."""

    reason: str | None
    failed: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    evidence: str = ""

    @property
    def chrf(self) -> float | None:
        return self.scores.get("chrf")

    def to_json(self) -> str:
        return json.dumps({"reason": self.reason, "failed": list(self.failed), "scores": self.scores,
                           "evidence": self.evidence}, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, blob: str) -> Verdict:
        d: dict[str, Any] = json.loads(blob)
        return cls(d["reason"], tuple(d.get("failed", ())), dict(d.get("scores", {})), d.get("evidence", ""))
