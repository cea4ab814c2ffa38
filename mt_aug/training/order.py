"""The order of a build's packed batches in one training epoch: pure functions over arrays.

Every step is one packed batch per process. With N processes, a step is N consecutive
batches of the sequence (what accelerate's `BatchSamplerShard` hands rank i: batch
`step * N + i`), so the sequence is built step by step: all N batches of a step are of one
kind, and (where the build can serve it) no `pair_id` occurs in two of them, nor a
`passage_id` where avoidable, so negatives gathered across ranks are not false negatives.
The number of steps of each kind keeps the mono share; within a kind, groups (languages,
language pairs) are spread out."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mt_aug.packing.batching import kind_sequence

EPS = 1e-9
LOOKAHEAD = 256  # batches scanned for a step free of shared passages before settling for distinct pairs


@dataclass(frozen=True)
class EpochPlan:
    order: np.ndarray  # indices of scheduled batches, step-major
    mono_steps: int
    cross_steps: int
    dropped: int  # batches of the build left out of this epoch (ratio, multiple of N, conflicts)


def kind_counts(n_mono: int, n_cross: int, ratio: float | None) -> tuple[int, int]:
    """How many mono and cross batches an epoch uses: all of them at the build's ratio (None),
    else the largest selection whose mono share is `ratio` (0.0: every cross batch and no
    mono one, the paper's X-Y baseline; 1.0: the reverse, X-X)."""
    if ratio is None:
        return n_mono, n_cross
    if ratio <= EPS:
        return 0, n_cross
    if ratio >= 1 - EPS:
        return n_mono, 0
    size = min(n_mono / ratio, n_cross / (1 - ratio))
    return min(n_mono, math.floor(size * ratio + EPS)), min(n_cross, math.floor(size * (1 - ratio) + EPS))


def spread(group: np.ndarray, batches: np.ndarray, rng: np.random.Generator,
           lanes: np.ndarray | None = None) -> np.ndarray:
    """`batches` (all of one kind; `group[b]` their group) shuffled within each group, then
    interleaved so that every group is at the same fraction of its batches at any point.
    `lanes[b]` (group_by: [source]: batch b's source): each lane's batches spread so, then the
    lanes interleaved the same way (a lane's i-th batch at fraction (i + 0.5) / n), so a
    source never comes in a block as long as its groups."""
    if len(batches) == 0:
        return batches
    if lanes is not None:
        codes, inverse, counts = np.unique(lanes[batches], return_inverse=True, return_counts=True)
        tie = rng.permutation(len(codes))
        parts = [spread(group, batches[inverse == c], rng) for c in range(len(codes))]
        key = np.concatenate([(np.arange(n) + 0.5) / n for n in counts])
        return np.concatenate(parts)[np.lexsort((np.repeat(tie, counts), key))]
    g = group[batches]
    codes, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    tie = rng.permutation(len(codes))  # which group goes first when fractions tie
    out_key = np.empty(len(batches))
    shuffled = np.empty_like(batches)
    pos = 0
    for c in range(len(codes)):
        members = batches[inverse == c]
        shuffled[pos : pos + len(members)] = rng.permutation(members)
        out_key[pos : pos + len(members)] = (np.arange(len(members)) + 0.5) / len(members)
        pos += len(members)
    group_rank = np.repeat(tie, counts)
    return shuffled[np.lexsort((group_rank, out_key))]


def _fill(queue: np.ndarray, taken: np.ndarray, head: int, world: int, pairs: list[set[int]],
          passages: list[set[int]] | None) -> list[int] | None:
    """Choose `world` untaken batches from `queue` starting at its first untaken one: first
    those sharing neither pair nor passage with the step, then any sharing no pair."""
    first = int(queue[head])
    chosen = [first]
    used_pairs = set(pairs[first])
    if passages is not None:
        used_passages = set(passages[first])
        scanned = 0
        for b in queue[head + 1 :]:
            b = int(b)
            if taken[b] or b in chosen:
                continue
            scanned += 1
            if scanned > LOOKAHEAD:
                break
            if used_pairs.isdisjoint(pairs[b]) and used_passages.isdisjoint(passages[b]):
                chosen.append(b)
                used_pairs |= pairs[b]
                used_passages |= passages[b]
                if len(chosen) == world:
                    return chosen
    for b in queue[head + 1 :]:
        b = int(b)
        if taken[b] or b in chosen:
            continue
        if used_pairs.isdisjoint(pairs[b]):
            chosen.append(b)
            used_pairs |= pairs[b]
            if len(chosen) == world:
                return chosen
    return None


def _lanes(queue: np.ndarray, lanes: np.ndarray, world: int) -> dict[int, np.ndarray]:
    """`queue` split by lane (order kept; lanes in order of first appearance), each cut to a
    multiple of `world`."""
    of = lanes[queue]
    out = {}
    for lane in dict.fromkeys(of.tolist()):
        q = queue[of == lane]
        out[int(lane)] = q[: len(q) - len(q) % world]
    return out


def plan_epoch(mono: np.ndarray, cross: np.ndarray, ratio: float, *, override: bool, world: int,
               pair_keys: np.ndarray | None = None, passage_keys: np.ndarray | None = None,
               num_batches: int | None = None, lanes: np.ndarray | None = None) -> EpochPlan:
    """One epoch from the preferred order of each kind (`mono`, `cross`: batch indices).

    `override`: `ratio` is another mix than the build's (take the largest selection at that
    share); else every batch is used. Each kind is cut to a multiple of `world`, the surplus
    counted in `dropped`. With world > 1, `pair_keys[b]` (and optionally `passage_keys[b]`)
    are the codes of batch b's rows, used to keep the batches of one step apart, and
    `lanes[b]` (optional: batch b's source, group_by: [source]) keeps every step in one lane:
    each lane of a kind is cut to a multiple of `world`, and the lane furthest behind its share
    of the kind's steps serves the next step of that kind."""
    n_mono, n_cross = kind_counts(len(mono), len(cross), ratio if override else None)
    queues = {True: mono[:n_mono], False: cross[:n_cross]}
    if world > 1 and lanes is not None:
        lane_q = {k: _lanes(q, lanes, world) for k, q in queues.items()}
    else:
        lane_q = {k: {0: q[: len(q) - len(q) % world]} for k, q in queues.items()}
    n_mono = sum(len(q) for q in lane_q[True].values())
    n_cross = sum(len(q) for q in lane_q[False].values())
    total = len(mono) + len(cross)
    seq = kind_sequence(n_mono // world, n_cross // world, ratio)
    if world == 1:
        out = np.empty(len(seq), np.int64)
        out[seq] = lane_q[True][0]
        out[~seq] = lane_q[False][0]
        return EpochPlan(out, n_mono, n_cross, total - len(out))
    if pair_keys is None:
        raise ValueError("pair_keys are needed to order batches for more than one process")
    size = num_batches if num_batches is not None else int(max(total, 1 + max(mono.max(initial=-1), cross.max(initial=-1))))
    pairs: list[set[int]] = [set()] * size
    passages: list[set[int]] | None = [set()] * size if passage_keys is not None else None
    for b in np.concatenate([q for k in (True, False) for q in lane_q[k].values()] or [np.zeros(0, np.int64)]).tolist():
        pairs[b] = set(pair_keys[b].tolist())
        if passages is not None and passage_keys is not None:
            passages[b] = set(passage_keys[b].tolist())
    taken = np.zeros(size, bool)
    keys = [(k, lane) for k in (True, False) for lane in lane_q[k]]
    rank = {key: i for i, key in enumerate(keys)}  # ties: the lane that comes first in the queue
    head = dict.fromkeys(keys, 0)
    left = {key: len(lane_q[key[0]][key[1]]) for key in keys}  # untaken batches in each lane's queue
    share = {key: max(1, left[key] // world) for key in keys}  # the lane's steps if none were left out
    done = dict.fromkeys(keys, 0)
    steps = {True: 0, False: 0}
    out_list: list[int] = []

    def servable(kind: bool) -> list[tuple[bool, int]]:
        return [key for key in keys if key[0] == kind and left[key] >= world]

    for want_mono in seq.tolist():
        kind = want_mono if servable(want_mono) else (not want_mono)
        chosen = None
        while chosen is None:
            ready = servable(kind)
            if not ready:
                break
            key = min(ready, key=lambda k: ((done[k] + 0.5) / share[k], rank[k]))
            q = lane_q[key[0]][key[1]]
            while taken[q[head[key]]]:
                head[key] += 1
            chosen = _fill(q, taken, head[key], world, pairs, passages)
            if chosen is None:  # its first batch conflicts with everything left: leave it out
                taken[q[head[key]]] = True
                left[key] -= 1
        if chosen is None:
            continue  # neither kind can fill a step any more
        taken[chosen] = True
        left[key] -= world
        done[key] += 1
        steps[kind] += 1
        out_list.extend(chosen)
    out = np.asarray(out_list, np.int64)
    return EpochPlan(out, steps[True] * world, steps[False] * world, total - len(out))
