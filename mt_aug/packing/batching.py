"""Pack views into batches of exactly `batch_size` rows, balance mono against cross at the
configured ratio, and order batches into a hybrid schedule.

Within a batch no two rows share a pair (parallel translations of one pair would be false
negatives for in-batch contrastive loss) or a passage (SQuAD asks several questions of one
paragraph; the same paragraph in two languages is one passage). Views that cannot fill a
batch are leftovers: counted and reported, never silently dropped."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
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
    index: int  # ordinal within the group (within the group and source, with group_by: [source])
    rows: np.ndarray  # positions into the group's Views
    source: str | None = None  # the one source of its rows (group_by: [source]); None: any

    @property
    def batch_id(self) -> str:
        if self.source is None:
            return f"{self.kind}-{self.group}-{self.index:06d}"
        return f"{self.kind}-{self.group}-{self.source}-{self.index:06d}"


@dataclass
class Packed:
    views: dict[tuple[str, str], Views]
    batches: dict[tuple[str, str], list[Batch]] = field(default_factory=dict)
    leftovers: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # positions
    trimmed: dict[tuple[str, str], int] = field(default_factory=dict)  # views moved out to keep the ratio
    # group_by: [source]: the sources (names, sorted) and each pair's code into them
    sources: list[str] | None = None
    pair_source: np.ndarray | None = None
    trimmed_by_source: Counter[str] = field(default_factory=Counter)  # views moved out, per source

    def leftover_count(self, key: tuple[str, str]) -> int:
        return len(self.leftovers.get(key, ())) + self.trimmed.get(key, 0)

    def all_batches(self) -> Iterator[Batch]:
        for bs in self.batches.values():
            yield from bs

    def source_counts(self) -> dict[str, dict[str, int]]:
        """group_by: [source]: per source, its batches of each kind and its leftover views
        (left unpacked or moved out to keep the ratio and the source shares)."""
        assert self.sources is not None and self.pair_source is not None
        out = {s: {"mono": 0, "cross": 0, "leftover_rows": self.trimmed_by_source.get(s, 0)} for s in self.sources}
        for b in self.all_batches():
            out[str(b.source)][b.kind] += 1
        for key, pos in self.leftovers.items():
            if len(pos):
                codes = np.bincount(self.pair_source[self.views[key].pair[pos]], minlength=len(self.sources))
                for s, n in zip(self.sources, codes.tolist(), strict=True):
                    out[s]["leftover_rows"] += n
        return out


def pack_group(kind: str, group: str, views: Views, passage_codes: np.ndarray, batch_size: int,
               seed: int, source: str | None = None) -> tuple[list[Batch], np.ndarray]:
    """Greedy first-fit over a seeded shuffle: each view goes into the first open batch that
    has neither its pair nor its passage; a batch is closed when full. `source`: the views
    are one source's (group_by: [source]), its batches say so."""
    rng = rng_for("pack", seed, kind, group) if source is None else rng_for("pack", seed, kind, group, source)
    order = rng.permutation(len(views))
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
            closed.append(Batch(kind, group, len(closed), np.asarray(rows, dtype=np.int64), source))
            del open_rows[slot]
            del open_keys[slot]
    leftovers = np.asarray(sorted([p for rows in open_rows for p in rows] + stuck), dtype=np.int64)
    return closed, leftovers


def pack(views: dict[tuple[str, str], Views], passage_codes: np.ndarray, batch_size: int, seed: int,
         sources: tuple[np.ndarray, list[str]] | None = None) -> Packed:
    """Every group's views into batches. `sources`: (each pair's source code, the source names)
    for group_by: [source]: each source's views of a group are packed apart (a batch holds one
    source), the group's batches listed source by source."""
    packed = Packed(views)
    if sources is not None:
        packed.pair_source, packed.sources = sources[0], list(sources[1])
    for (kind, group), vs in sorted(views.items()):
        if sources is None:
            batches, left = pack_group(kind, group, vs, passage_codes, batch_size, seed)
        else:
            codes, names = sources
            of_view = codes[vs.pair]
            batches, lefts = [], []
            for code, name in enumerate(names):
                sel = np.flatnonzero(of_view == code)
                if not len(sel):
                    continue
                got, left_s = pack_group(kind, group, vs.take(sel), passage_codes, batch_size, seed, name)
                batches += [Batch(kind, group, b.index, sel[b.rows], name) for b in got]
                lefts.append(sel[left_s])
            left = np.sort(np.concatenate(lefts)) if lefts else np.zeros(0, np.int64)
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


def _ratio_keep(supply: Mapping[str, int], mono_ratio: float) -> dict[str, int]:
    """How many batches of each kind a schedule at `mono_ratio` keeps of `supply` (the
    largest that both kinds can serve, within one batch)."""
    if mono_ratio >= 1.0:
        return {"mono": supply["mono"], "cross": 0}
    if mono_ratio <= 0.0:
        return {"mono": 0, "cross": supply["cross"]}
    size = min(supply["mono"] / mono_ratio, supply["cross"] / (1 - mono_ratio))
    return {"mono": min(supply["mono"], math.ceil(size * mono_ratio - 1e-9)),
            "cross": min(supply["cross"], math.ceil(size * (1 - mono_ratio) - 1e-9))}


def source_shares(counts: Mapping[str, int], weights: str | Mapping[str, float]) -> dict[str, float]:
    """The share of each source among a kind's batches: its batch count's (`size`), equal
    (`uniform`) or its weight's (a mapping). Sources without a batch take no share."""
    present = {s: n for s, n in sorted(counts.items()) if n > 0}
    if weights == "size":
        w = {s: float(n) for s, n in present.items()}
    elif weights == "uniform":
        w = dict.fromkeys(present, 1.0)
    else:
        assert not isinstance(weights, str)
        w = {s: float(weights[s]) for s in present}
    total = sum(w.values())
    return {s: x / total for s, x in w.items()} if total else {}


def apportion(total: int, shares: Mapping[str, float], caps: Mapping[str, int]) -> dict[str, int]:
    """`total` split by `shares` (largest remainder: every count within one of its quota, ties
    by name), none above its cap."""
    quota = {s: total * x for s, x in shares.items()}
    out = {s: min(caps[s], math.floor(q + 1e-9)) for s, q in quota.items()}
    rest = total - sum(out.values())
    order = sorted(shares, key=lambda s: (-(quota[s] - math.floor(quota[s] + 1e-9)), s))
    while rest > 0:
        grew = False
        for s in order:
            if rest and out[s] < caps[s]:
                out[s] += 1
                rest -= 1
                grew = True
        if not grew:
            break
    return out


def balance_sources(packed: Packed, mono_ratio: float, weights: str | Mapping[str, float]) -> dict[str, dict[str, float]]:
    """group_by: [source]: move surplus batches to leftovers so that mono batches are
    `mono_ratio` of all (as `balance_ratio`) and, within each kind, each source's share of the
    batches is its weight's (`source_shares`; with `size`, every source keeps all its batches
    unless the ratio trims). A kind's surplus is taken from its sources by their shares, a
    source's from its groups with the most batches. Returns the shares per kind."""
    parts: dict[tuple[str, str, str], list[Batch]] = {}
    for (kind, group), bs in sorted(packed.batches.items()):
        for b in bs:
            parts.setdefault((kind, str(b.source), group), []).append(b)
    count = {k: Counter[str]() for k in ("mono", "cross")}
    for (kind, source, _), bs in parts.items():
        count[kind][source] += len(bs)
    shares = {k: source_shares(count[k], weights) for k in count}
    supply = {}
    for kind, sh in shares.items():
        if weights == "size" or not sh:
            supply[kind] = sum(count[kind].values())
        else:  # the largest total whose every source's share it can serve
            supply[kind] = min(math.floor(count[kind][s] / x + 1e-9) for s, x in sh.items())
    keep = _ratio_keep(supply, mono_ratio)
    for kind, sh in shares.items():
        per_source = apportion(keep[kind], sh, count[kind])
        for source in sorted(count[kind]):
            surplus = count[kind][source] - per_source.get(source, 0)
            while surplus > 0:
                key = max((k for k in parts if k[0] == kind and k[1] == source and parts[k]),
                          key=lambda k: (len(parts[k]), k))
                b = parts[key].pop()
                packed.trimmed[(kind, key[2])] = packed.trimmed.get((kind, key[2]), 0) + len(b.rows)
                packed.trimmed_by_source[source] += len(b.rows)
                surplus -= 1
    for key in packed.batches:
        packed.batches[key] = [b for (kind, _, group), bs in sorted(parts.items()) if (kind, group) == key
                               for b in bs]
    return shares


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


def prefix_drift(members: list[str], shares: Mapping[str, float]) -> float:
    """The largest distance, over every prefix of `members` (e.g. each step's source), between a
    member's count and its share of the prefix: under 1 when the members are spread evenly, the
    length of the block when one comes in a block."""
    seen: Counter[str] = Counter()
    worst = 0.0
    for t, m in enumerate(members, 1):
        seen[m] += 1
        worst = max(worst, *(abs(seen[name] - x * t) for name, x in shares.items()))
    return worst


def _behind(pos: Mapping[str, int], size: Mapping[str, int], offset: float = 0.0) -> str:
    """The member furthest behind its share (the lowest fraction used; ties by name): picking
    it each time spreads members out in proportion to their sizes, none in a long block.
    `offset` 0.5 counts each pick at its middle (Webster's rule: a small member's first pick
    comes at half its spacing, not at once)."""
    return min((m for m in size if pos[m] < size[m]), key=lambda m: ((pos[m] + offset) / size[m], m))


def hybrid_order(batches: dict[tuple[str, str], list[Batch]], mono_ratio: float) -> list[Batch]:
    """Interleave mono and cross batches so that mono batches appear at `mono_ratio` for as
    long as both kinds last; within a kind, groups are spread out (the group furthest
    behind its share goes next). With group_by: [source], within a kind the source furthest
    behind its share goes next (sources in proportion to their batches), then its group
    furthest behind."""
    by_kind: dict[str, dict[str, dict[str, list[Batch]]]] = {"mono": {}, "cross": {}}
    for (kind, group), bs in sorted(batches.items()):
        for b in bs:
            by_kind[kind].setdefault(b.source or "", {}).setdefault(group, []).append(b)
    size = {k: {s: sum(len(b) for b in gs.values()) for s, gs in ss.items()} for k, ss in by_kind.items()}
    used = {k: dict.fromkeys(ss, 0) for k, ss in size.items()}
    gsize = {k: {s: {g: len(b) for g, b in gs.items()} for s, gs in ss.items()} for k, ss in by_kind.items()}
    pos = {k: {s: dict.fromkeys(gs, 0) for s, gs in ss.items()} for k, ss in by_kind.items()}
    total = {k: sum(ss.values()) for k, ss in size.items()}
    out: list[Batch] = []
    for mono in kind_sequence(total["mono"], total["cross"], mono_ratio).tolist():
        kind = "mono" if mono else "cross"
        s = _behind(used[kind], size[kind], 0.5)
        g = _behind(pos[kind][s], gsize[kind][s])
        out.append(by_kind[kind][s][g][pos[kind][s][g]])
        pos[kind][s][g] += 1
        used[kind][s] += 1
    return out
