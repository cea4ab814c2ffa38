"""Pack views into batches of exactly `batch_size` rows, balance mono against cross at the
configured ratio, and order batches into a hybrid schedule.

Within a batch no two rows share a pair (parallel translations of one pair would be false
negatives for in-batch contrastive loss) or a passage (SQuAD asks several questions of one
paragraph; the same paragraph in two languages is one passage). Views that cannot fill a
batch are leftovers: counted and reported, never silently dropped."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from mt_aug.packing.views import Views, rng_for

# Open batches at most: bounds the first-fit scan when few distinct passages make most rows
# conflict (e.g. hundreds of questions on one paragraph); such rows become leftovers.
MAX_OPEN = 1024


@dataclass
class Batch:
    kind: str  # mono | cross
    group: str  # language, "q-p" language pair, or "mixed"
    index: int  # ordinal within the group
    rows: np.ndarray  # positions into the group's Views

    @property
    def batch_id(self) -> str:
        return f"{self.kind}-{self.group}-{self.index:06d}"


@dataclass
class Packed:
    views: dict[tuple[str, str], Views]
    batches: dict[tuple[str, str], list[Batch]] = field(default_factory=dict)
    leftovers: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # positions
    trimmed: dict[tuple[str, str], int] = field(default_factory=dict)  # views moved out to keep the ratio

    def leftover_count(self, key: tuple[str, str]) -> int:
        return len(self.leftovers.get(key, ())) + self.trimmed.get(key, 0)

    def all_batches(self) -> Iterator[Batch]:
        for bs in self.batches.values():
            yield from bs


def pack_group(kind: str, group: str, views: Views, passage_codes: np.ndarray, batch_size: int,
               seed: int) -> tuple[list[Batch], np.ndarray]:
    """Greedy first-fit over a seeded shuffle: each view goes into the first open batch that
    has neither its pair nor its passage; a batch is closed when full."""
    order = rng_for("pack", seed, kind, group).permutation(len(views))
    # one int per key: pairs even, passages odd (cheaper to hash than tuples)
    pair_keys = (views.pair[order] << 1).tolist()
    passage_keys = ((passage_codes[views.pair[order]] << 1) | 1).tolist()
    open_rows: list[list[int]] = []
    open_keys: list[set[int]] = []
    closed: list[Batch] = []
    stuck: list[int] = []  # rows that conflict with every open batch when MAX_OPEN are open
    for pos, kp, kq in zip(order.tolist(), pair_keys, passage_keys, strict=True):
        for slot, keys in enumerate(open_keys):
            if kp not in keys and kq not in keys:
                break
        else:
            if len(open_keys) >= MAX_OPEN:
                stuck.append(pos)
                continue
            slot = len(open_keys)
            open_rows.append([])
            open_keys.append(set())
        rows = open_rows[slot]
        rows.append(pos)
        keys = open_keys[slot]
        keys.add(kp)
        keys.add(kq)
        if len(rows) == batch_size:
            closed.append(Batch(kind, group, len(closed), np.asarray(rows, dtype=np.int64)))
            del open_rows[slot]
            del open_keys[slot]
    leftovers = np.asarray(sorted([p for rows in open_rows for p in rows] + stuck), dtype=np.int64)
    return closed, leftovers


def pack(views: dict[tuple[str, str], Views], passage_codes: np.ndarray, batch_size: int, seed: int) -> Packed:
    packed = Packed(views)
    for (kind, group), vs in sorted(views.items()):
        batches, left = pack_group(kind, group, vs, passage_codes, batch_size, seed)
        packed.batches[(kind, group)] = batches
        packed.leftovers[(kind, group)] = left
    return packed


def balance_ratio(packed: Packed, mono_ratio: float) -> None:
    """Move surplus batches of one kind to leftovers so that mono batches are `mono_ratio`
    of all batches (within one batch). Surplus is taken from the groups with the most
    batches, so languages stay balanced; the views moved are counted as leftovers."""
    count = {k: sum(len(b) for (kk, _), b in packed.batches.items() if kk == k) for k in ("mono", "cross")}
    total = count["mono"] + count["cross"]
    if total == 0:
        return
    if mono_ratio >= 1.0:
        keep = {"mono": count["mono"], "cross": 0}
    elif mono_ratio <= 0.0:
        keep = {"mono": 0, "cross": count["cross"]}
    else:
        # the largest schedule with mono share = ratio that both kinds can supply
        size = min(count["mono"] / mono_ratio, count["cross"] / (1 - mono_ratio))
        keep = {"mono": min(count["mono"], math.ceil(size * mono_ratio - 1e-9)),
                "cross": min(count["cross"], math.ceil(size * (1 - mono_ratio) - 1e-9))}
    for kind in ("mono", "cross"):
        surplus = count[kind] - keep[kind]
        while surplus > 0:
            key = max((k for k in packed.batches if k[0] == kind and packed.batches[k]),
                      key=lambda k: (len(packed.batches[k]), k))
            b = packed.batches[key].pop()
            packed.trimmed[key] = packed.trimmed.get(key, 0) + len(b.rows)
            surplus -= 1


def kind_sequence(mono_steps: int, cross_steps: int, ratio: float) -> np.ndarray:
    """True for a mono step: mono while the mono share is behind `ratio`, the other kind once
    one runs out (the rule of the build's schedule, `hybrid_order`, and of the sampler's epochs)."""
    out = np.empty(mono_steps + cross_steps, bool)
    used = 0
    for step in range(len(out)):
        mono = used < ratio * (step + 1) - 1e-9
        if mono and used == mono_steps:
            mono = False
        elif not mono and step - used == cross_steps:
            mono = True
        out[step] = mono
        used += mono
    return out


def hybrid_order(batches: dict[tuple[str, str], list[Batch]], mono_ratio: float) -> list[Batch]:
    """Interleave mono and cross batches so that mono batches appear at `mono_ratio` for as
    long as both kinds last; within a kind, groups are spread out (the group furthest
    behind its share goes next)."""
    by_kind: dict[str, dict[str, list[Batch]]] = {"mono": {}, "cross": {}}
    for (kind, group), bs in sorted(batches.items()):
        if bs:
            by_kind[kind][group] = bs
    pos = {k: {g: 0 for g in gs} for k, gs in by_kind.items()}
    total = {k: sum(len(b) for b in gs.values()) for k, gs in by_kind.items()}
    out: list[Batch] = []
    for mono in kind_sequence(total["mono"], total["cross"], mono_ratio).tolist():
        kind = "mono" if mono else "cross"
        groups = by_kind[kind]
        g = min(
            (g for g in groups if pos[kind][g] < len(groups[g])),
            key=lambda g: (pos[kind][g] / len(groups[g]), g),
        )
        out.append(groups[g][pos[kind][g]])
        pos[kind][g] += 1
    return out
