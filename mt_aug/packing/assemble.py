"""From the pipeline's tables to packed batches and shard files: the corpus in canonical
order, views assigned from the seed, batches packed and balanced at mono_ratio, then written."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from mt_aug.config import BuildConfig
from mt_aug.packing.batching import Packed, balance_ratio, balance_sources, hybrid_order, pack
from mt_aug.packing.corpus import Corpus, corpus_from_tables
from mt_aug.packing.shards import ShardFile, write_group, write_schedule
from mt_aug.packing.views import ViewStats, assign_views

log = logging.getLogger("mt_aug.packing")


def views_and_batches(cfg: BuildConfig, pairs: pa.Table, texts: dict[str, pa.Table]) -> tuple[Corpus, Packed, ViewStats]:
    b = cfg.batching
    corpus = corpus_from_tables(pairs, texts, cfg.languages)
    sources = corpus.source_codes() if b.by_source else None
    views, vstats = assign_views(corpus.available(), cfg.languages, mono_per_pair=b.mono_views_per_pair,
                                 cross_per_pair=b.cross_views_per_pair, seed=cfg.seed, mono_mixing=b.mono_mixing,
                                 sources=sources, batch_size=b.batch_size, passages=corpus.passage_codes)
    packed = pack(views, corpus.passage_codes, b.batch_size, cfg.seed, sources=sources)
    for (kind, group), vs in views.items():
        if not packed.batches[(kind, group)]:
            log.warning("%s %s: %d views cannot fill one batch of %d rows: all are leftovers", kind, group,
                        len(vs), b.batch_size)
    if b.by_source:
        for w in small_sources(packed, b.batch_size):
            log.warning("%s", w)
        balance_sources(packed, b.mono_ratio, b.source_weights)
    else:
        balance_ratio(packed, b.mono_ratio)
    trimmed = sum(packed.trimmed.values())
    if trimmed:
        why = "mono/cross views per pair do not match the ratio" + (
            ", or source_weights ask other shares than the sources' sizes" if b.by_source else "")
        log.warning("mono_ratio %.2f: %d views of surplus batches moved to leftovers (%s)", b.mono_ratio, trimmed, why)
    return corpus, packed, vstats


def small_sources(packed: Packed, batch_size: int) -> list[str]:
    """group_by: [source]: one line per source whose views could not fill one batch in some
    language or language pair (those views are leftovers, counted per source)."""
    assert packed.sources is not None and packed.pair_source is not None
    short: dict[str, list[str]] = {}
    for (kind, group), vs in sorted(packed.views.items()):
        have = {b.source for b in packed.batches.get((kind, group), [])}
        present = np.unique(packed.pair_source[vs.pair]) if len(vs) else np.zeros(0, np.int64)
        for code in present.tolist():
            name = packed.sources[code]
            if name not in have:
                short.setdefault(name, []).append(f"{kind} {group}")
    out = []
    for name, where in short.items():
        shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        out.append(f"source {name!r}: too few views to fill one batch of {batch_size} rows in {shown}: "
                   "they are leftovers (counted in the manifest's source_batches)")
    return out


def write_shards(cfg: BuildConfig, build_dir: Path, corpus: Corpus, packed: Packed,
                 on_group: Callable[[int], None] | None = None) -> tuple[list[ShardFile], ShardFile]:
    """Every group's batches as shard files, then the schedule; `on_group(batches)` after each
    group (progress)."""
    files: list[ShardFile] = []
    for (kind, group), batches in packed.batches.items():
        if batches:
            for source in dict.fromkeys(b.source for b in batches):  # the group's sources, in order
                files += write_group(build_dir, corpus, kind, group, packed.views[(kind, group)],
                                     [b for b in batches if b.source == source], cfg.batching.batch_size,
                                     cfg.batching.rows_per_file, source)
            if on_group is not None:
                on_group(len(batches))
    schedule = write_schedule(build_dir, hybrid_order(packed.batches, cfg.batching.mono_ratio), files)
    return files, schedule
