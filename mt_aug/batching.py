"""Pack views into batches of exactly `batch_size` rows, and order batches into a hybrid schedule.

Within a batch no two rows share a `pair_id` (parallel translations of one pair would be
false negatives for in-batch contrastive loss) or a `passage_id` (SQuAD asks several
questions of one paragraph). Views that cannot fill a batch are leftovers: counted and
reported, never silently dropped."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from mt_aug.schema import View


@dataclass
class Batch:
    kind: str  # mono | cross
    group: str  # language (mono) or "q-p" language pair (cross)
    index: int  # ordinal within the group
    rows: list[View]

    @property
    def batch_id(self) -> str:
        return f"{self.kind}-{self.group}-{self.index:06d}"


@dataclass
class Packed:
    batches: dict[tuple[str, str], list[Batch]] = field(default_factory=dict)  # (kind, group) -> batches
    leftovers: dict[tuple[str, str], list[View]] = field(default_factory=dict)


def group_views(views: list[View]) -> dict[tuple[str, str], list[View]]:
    out: dict[tuple[str, str], list[View]] = defaultdict(list)
    for v in views:
        out[(v.kind, v.group)].append(v)
    return dict(sorted(out.items()))


def pack_group(kind: str, group: str, views: list[View], batch_size: int, seed: int) -> tuple[list[Batch], list[View]]:
    """Greedy first-fit over a seeded shuffle: each view goes into the first open batch that
    has neither its pair nor its passage; a batch is closed when full."""
    rng = random.Random(f"pack:{seed}:{kind}:{group}")
    order = sorted(views, key=lambda v: v.pair.pair_id)
    rng.shuffle(order)
    open_batches: list[tuple[list[View], set[str], set[str]]] = []
    closed: list[Batch] = []
    for v in order:
        for slot in open_batches:
            rows, pair_ids, passage_ids = slot
            if v.pair.pair_id not in pair_ids and v.pair.passage_id not in passage_ids:
                break
        else:
            slot = ([], set(), set())
            open_batches.append(slot)
        rows, pair_ids, passage_ids = slot
        rows.append(v)
        pair_ids.add(v.pair.pair_id)
        passage_ids.add(v.pair.passage_id)
        if len(rows) == batch_size:
            closed.append(Batch(kind, group, len(closed), rows))
            open_batches.remove(slot)
    leftovers = [v for rows, _, _ in open_batches for v in rows]
    return closed, leftovers


def pack(views: list[View], batch_size: int, seed: int) -> Packed:
    packed = Packed()
    for (kind, group), vs in group_views(views).items():
        batches, left = pack_group(kind, group, vs, batch_size, seed)
        packed.batches[(kind, group)] = batches
        packed.leftovers[(kind, group)] = left
    return packed


def hybrid_order(batches: dict[tuple[str, str], list[Batch]], mono_ratio: float) -> list[Batch]:
    """Interleave mono and cross batches so that mono batches appear at `mono_ratio` for as
    long as both kinds last; within a kind, groups are spread out (the group furthest
    behind its share goes next)."""
    by_kind: dict[str, dict[str, list[Batch]]] = {"mono": {}, "cross": {}}
    for (kind, group), bs in batches.items():
        if bs:
            by_kind[kind][group] = bs
    pos = {k: {g: 0 for g in gs} for k, gs in by_kind.items()}
    total = {k: sum(len(b) for b in gs.values()) for k, gs in by_kind.items()}
    used = {"mono": 0, "cross": 0}
    out: list[Batch] = []
    for step in range(total["mono"] + total["cross"]):
        kind = "mono" if used["mono"] < mono_ratio * (step + 1) - 1e-9 else "cross"
        if used[kind] == total[kind]:
            kind = "cross" if kind == "mono" else "mono"
        groups = by_kind[kind]
        g = min(
            (g for g in groups if pos[kind][g] < len(groups[g])),
            key=lambda g: (pos[kind][g] / len(groups[g]), g),
        )
        out.append(groups[g][pos[kind][g]])
        pos[kind][g] += 1
        used[kind] += 1
    return out
