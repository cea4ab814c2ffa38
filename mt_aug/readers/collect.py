"""Collect: read every configured source into QAPairs and drop exact duplicates, counted."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from mt_aug.accounting import Ledger
from mt_aug.config import BuildConfig
from mt_aug.normalize import normalize_text
from mt_aug.readers import get_reader
from mt_aug.schema import Drop, QAPair

log = logging.getLogger(__name__)


@dataclass
class Collected:
    pairs: list[QAPair]
    ledger: Ledger


def collect(cfg: BuildConfig) -> Collected:
    """Read all sources in config order, counting every record read, kept or rejected."""
    ledger = Ledger()
    pairs: list[QAPair] = []
    for source in cfg.sources:
        t0, n0 = time.monotonic(), len(pairs)
        pairs.extend(get_reader(source.format, hub=source.dataset is not None)(source, ledger))
        dt = time.monotonic() - t0
        c = ledger.sources[source.name]
        log.info("collect %s: read %d, kept %d in %.1fs (%.0f records/s)", source.name, c.read, len(pairs) - n0,
                 dt, c.read / max(dt, 1e-9))
    ledger.check()
    return Collected(pairs, ledger)


def dedup(pairs: list[QAPair], ledger: Ledger) -> list[QAPair]:
    """Keep the first of pairs that ask the same normalized question of the same passage (in
    any source), or that repeat a pair_id. Runs after decontamination, so an eval question
    asked twice is reported as contaminated both times."""
    seen: dict[tuple[str, str], str] = {}
    seen_ids: set[str] = set()
    kept: list[QAPair] = []
    for pair in pairs:
        key = (pair.passage_id, normalize_text(pair.question))
        if key in seen or pair.pair_id in seen_ids:
            why, of = ("duplicate", seen[key]) if key in seen else ("duplicate id", pair.pair_id)
            ledger.drop(Drop("dedup", pair.source, pair.id, why, detail={"duplicate_of": of}))
            continue
        seen[key] = pair.pair_id
        seen_ids.add(pair.pair_id)
        kept.append(pair)
    ledger.check()
    return kept
