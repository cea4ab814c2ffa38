"""Which English passages a build holds out for its dev split.

Passages are ranked by sha256(seed, passage_id) and the lowest N are held out, with every
question asked of them. The rank of a passage depends on the seed and its own id only (the
hash of its normalized English text), so adding, removing or reordering other sources keeps
a held-out passage held out for as long as it stays among the lowest N."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from mt_aug.config import DevSplitConfig
from mt_aug.errors import UserError
from mt_aug.pairs import compact, row_labels
from mt_aug.schema import Drop

STAGE = "dev-split"
HELD_OUT = "held out for dev"


def rank_key(seed: int, passage_id: str) -> str:
    """The order of passages for the dev split: lowest first."""
    return hashlib.sha256(f"{seed}\x1f{passage_id}".encode()).hexdigest()


def chosen_passages(passage_ids: list[str], cfg: DevSplitConfig, seed: int) -> list[str]:
    """The held-out passage ids, lowest rank first. Raises UserError when the split would take
    every passage (or more than there are)."""
    distinct = sorted(set(passage_ids))
    n = cfg.count(len(distinct))
    if n >= len(distinct):
        asked = f"fraction {cfg.fraction} is {n} passages" if cfg.fraction is not None else f"passages {n}"
        raise UserError(f"dev_split: {asked}, but the sources have {len(distinct)} distinct passages after "
                        "decontamination and dedup (hold out fewer, so that some are left to train on)")
    return sorted(distinct, key=lambda pid: rank_key(seed, pid))[:n]


def hold_out(pairs: pa.Table, cfg: DevSplitConfig, seed: int) -> tuple[pa.Table, pa.Table, list[Drop]]:
    """(training pairs, dev pairs, one drop per held-out pair). Off: the pairs as they are and an
    empty dev table."""
    if not cfg.enabled:
        return pairs, pairs.slice(0, 0), []
    pids = pairs.column("passage_id").to_pylist()
    chosen = set(chosen_passages(pids, cfg, seed))
    dev = np.fromiter((p in chosen for p in pids), dtype=bool, count=len(pids))
    rows = np.flatnonzero(dev).tolist()
    drops = [Drop(STAGE, source, rid, HELD_OUT, detail={"passage_id": pids[row]})
             for row, source, rid in zip(rows, *row_labels(pairs, rows), strict=True)]
    return compact(pairs.filter(pa.array(~dev))), compact(pairs.filter(pa.array(dev))), drops
