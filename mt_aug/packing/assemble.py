"""From the pipeline's tables to packed batches and shard files: the corpus in canonical
order, views assigned from the seed, batches packed and balanced at mono_ratio, then written."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from mt_aug.config import BuildConfig
from mt_aug.packing.batching import Packed, balance_ratio, hybrid_order, pack
from mt_aug.packing.corpus import Corpus, corpus_from_tables
from mt_aug.packing.shards import ShardFile, write_group, write_schedule
from mt_aug.packing.views import ViewStats, assign_views

log = logging.getLogger("mt_aug.packing")


def views_and_batches(cfg: BuildConfig, pairs: pa.Table, texts: dict[str, pa.Table]) -> tuple[Corpus, Packed, ViewStats]:
    b = cfg.batching
    corpus = corpus_from_tables(pairs, texts, cfg.languages)
    views, vstats = assign_views(corpus.available(), cfg.languages, mono_per_pair=b.mono_views_per_pair,
                                 cross_per_pair=b.cross_views_per_pair, seed=cfg.seed, mono_mixing=b.mono_mixing)
    packed = pack(views, corpus.passage_codes, b.batch_size, cfg.seed)
    for (kind, group), vs in views.items():
        if not packed.batches[(kind, group)]:
            log.warning("%s %s: %d views cannot fill one batch of %d rows: all are leftovers", kind, group,
                        len(vs), b.batch_size)
    balance_ratio(packed, b.mono_ratio)
    trimmed = sum(packed.trimmed.values())
    if trimmed:
        log.warning("mono_ratio %.2f: %d views of surplus batches moved to leftovers (mono/cross views per pair "
                    "do not match the ratio)", b.mono_ratio, trimmed)
    return corpus, packed, vstats


def write_shards(cfg: BuildConfig, build_dir: Path, corpus: Corpus, packed: Packed,
                 on_group: Callable[[int], None] | None = None) -> tuple[list[ShardFile], ShardFile]:
    """Every group's batches as shard files, then the schedule; `on_group(batches)` after each
    group (progress)."""
    files: list[ShardFile] = []
    for (kind, group), batches in packed.batches.items():
        if batches:
            files += write_group(build_dir, corpus, kind, group, packed.views[(kind, group)], batches,
                                 cfg.batching.batch_size, cfg.batching.rows_per_file)
            if on_group is not None:
                on_group(len(batches))
    schedule = write_schedule(build_dir, hybrid_order(packed.batches, cfg.batching.mono_ratio), files)
    return files, schedule
