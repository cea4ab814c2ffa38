"""Counting what each stage kept and dropped, so nothing disappears uncounted."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from mt_aug.schema import Drop


@dataclass
class SourceCounts:
    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    # records kept after their text was changed while reading, by what changed
    # (e.g. "control characters"): counted, not dropped
    normalized: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        out = {"read": self.read, "kept": self.kept, "dropped": dict(sorted(self.dropped.items()))}
        if self.normalized:
            out["normalized"] = dict(sorted(self.normalized.items()))
        return out


@dataclass
class Ledger:
    """Per-source read/kept/dropped counts and the drops themselves.

    The identity `read == kept + sum(dropped)` holds per source after every stage that
    removes pairs calls `drop()` (which moves a pair from kept to dropped)."""

    sources: dict[str, SourceCounts] = field(default_factory=lambda: defaultdict(SourceCounts))
    drops: list[Drop] = field(default_factory=list)

    def read(self, source: str, n: int = 1) -> None:
        self.sources[source].read += n

    def keep(self, source: str, n: int = 1) -> None:
        self.sources[source].kept += n

    def normalized(self, source: str, what: str) -> None:
        """A record whose text was changed while reading (it is still read and kept or dropped)."""
        self.sources[source].normalized[what] += 1

    def reject(self, drop: Drop) -> None:
        """A record dropped while reading: it was read but never kept."""
        self.sources[drop.source].dropped[drop.reason] += 1
        self.drops.append(drop)

    def drop(self, drop: Drop) -> None:
        """A kept pair dropped by a later stage."""
        counts = self.sources[drop.source]
        counts.kept -= 1
        counts.dropped[drop.reason] += 1
        self.drops.append(drop)

    def check(self) -> None:
        for name, c in self.sources.items():
            total = c.kept + sum(c.dropped.values())
            if total != c.read:
                raise AssertionError(f"source {name}: read {c.read} != kept {c.kept} + dropped {total - c.kept}")

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.sources.values())

    @property
    def read_total(self) -> int:
        return sum(c.read for c in self.sources.values())

    def to_dict(self) -> dict[str, Any]:
        return {name: c.to_dict() for name, c in sorted(self.sources.items())}


def count_by(drops: list[Drop], *keys: str) -> dict[str, int]:
    """Counts of drops grouped by the given attributes, joined by '/'."""
    out: Counter[str] = Counter()
    for d in drops:
        out["/".join(str(getattr(d, k)) for k in keys)] += 1
    return dict(sorted(out.items()))
