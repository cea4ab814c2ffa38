"""The source-side stages (docs/design.md): eval-index, collect, decontaminate, dedup,
dev-split and segment, as `Stage` classes over the library's functions.

Each declares what it reads and writes (a TypedDict each), its version and libraries (its
cache key derives from them), and returns its outputs, statistics and drops. They cache their
results under their keys (mt_aug.pipeline.results), need nothing of the stage context (no
model, no cache) and know nothing of Prefect, the executor that runs them, or the others'
statistics."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa

from mt_aug.config import BuildConfig
from mt_aug.decontamination.apply import contaminated, coverage_warnings, eval_indexes
from mt_aug.decontamination.matcher import EvalIndex
from mt_aug.devsplit.select import hold_out
from mt_aug.negatives.english import decontaminate_english, segment_negatives
from mt_aug.pairs import compact, dedup
from mt_aug.pipeline.stage import NoInputs, Stage, StageContext, StageResult
from mt_aug.readers.collect import collect
from mt_aug.schema import SOURCE_LANG
from mt_aug.translation.segment import MAX_WORD_CHARS
from mt_aug.translation.texts import Segmented, segment_table

log = logging.getLogger("mt_aug.pipeline")


class Indexes(TypedDict):
    indexes: dict[str, EvalIndex]  # per language with eval files


class Pairs(TypedDict):
    pairs: pa.Table  # PAIRS_SCHEMA


class PairsAndIndexes(TypedDict):
    pairs: pa.Table
    indexes: dict[str, EvalIndex]


class TrainAndDev(TypedDict):
    pairs: pa.Table  # the training pairs
    dev_pairs: pa.Table  # the held-out dev pairs (empty: no dev split)


class Segments(TypedDict):
    segmented: Segmented
    unique: list[str]  # every distinct segment, the dev pairs' and the hard negatives' included, sorted
    dev_segmented: Segmented
    # hard_negatives.translate > 0: the first K negatives of each training pair, segmented
    # (SegmentedNegatives.to_output(): Arrow tables, as a stage result stores them); else None
    negatives: dict[str, pa.Table] | None


def _eval_files(cfg: BuildConfig) -> list[Path]:
    return sorted({p for es in cfg.eval_sets for lang in cfg.languages
                   for p in es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)})


class EvalIndexStage(Stage[NoInputs, Indexes]):
    """Index every eval set's texts per language (n-grams, exact and similarity keys)."""

    name = "eval-index"
    version = "1"

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"eval_sets": [es.model_dump(mode="json") for es in cfg.eval_sets],
                "decontamination": cfg.decontamination.model_dump(mode="json"), "languages": cfg.languages}

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        return _eval_files(cfg)

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: NoInputs) -> StageResult[Indexes]:
        indexes, warnings = eval_indexes(cfg)
        stats = {lang: idx.stats() for lang, idx in sorted(indexes.items())}
        return StageResult(Indexes(indexes=indexes), stats, (), tuple(warnings + coverage_warnings(cfg)))


class CollectStage(Stage[NoInputs, Pairs]):
    """Read every source into the pairs table, counting every record read, kept or rejected."""

    name = "collect"
    version = "1"
    libraries = ("mt-aug-schema", "datasets")

    def config_section(self, cfg: BuildConfig) -> Any:
        return [s.model_dump(mode="json") for s in cfg.sources]

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        return [p for s in cfg.sources for _, p in s.input_files()]

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: NoInputs) -> StageResult[Pairs]:
        got = collect(cfg)
        stats = {"sources": {name: c.to_dict() for name, c in got.counts.items()}, "pairs": got.pairs.num_rows}
        return StageResult(Pairs(pairs=got.pairs), stats, tuple(got.drops))


class DecontaminateStage(Stage[PairsAndIndexes, Pairs]):
    """Drop English pairs whose passage or question overlaps an English eval text (a
    contaminated passage drops every pair that uses it), and the English hard negatives that
    overlap one (the negative only, counted: drops of stage `hard-negatives`)."""

    name = "decontaminate"
    version = "2"  # 2: hard negatives decontaminated too

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: PairsAndIndexes) -> StageResult[Pairs]:
        pairs = inputs["pairs"]
        index = inputs["indexes"].get(SOURCE_LANG)
        drop, drops, summary = contaminated(pairs.column("question"), pairs.column("passage"), pairs,
                                            index, "decontaminate", SOURCE_LANG)
        kept, neg_drops, neg_counts = decontaminate_english(pairs.filter(pa.array(~drop)), index)
        stats: dict[str, Any] = {"summary": summary}
        if neg_counts:
            stats["negatives"] = neg_counts
        return StageResult(Pairs(pairs=kept), stats, tuple(drops) + tuple(neg_drops))


class DedupStage(Stage[Pairs, Pairs]):
    """Drop repeated pairs (same normalized question on the same passage, or a repeated id)."""

    name = "dedup"
    version = "1"

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: Pairs) -> StageResult[Pairs]:
        keep, drops = dedup(inputs["pairs"])
        pairs = compact(inputs["pairs"].filter(pa.array(keep)))
        return StageResult(Pairs(pairs=pairs), {"pairs": pairs.num_rows}, tuple(drops))


class DevSplitStage(Stage[Pairs, TrainAndDev]):
    """Hold out the dev split (`dev_split:`): the English passages of lowest sha256(seed,
    passage_id), with all their questions, leave the training pairs (each counted as `held out
    for dev`) and go on as `dev_pairs`, translated and judged like the rest. Off: no dev pairs."""

    name = "dev-split"
    version = "1"

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"dev_split": cfg.dev_split.model_dump(mode="json"), "seed": cfg.seed}

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: Pairs) -> StageResult[TrainAndDev]:
        train, dev, drops = hold_out(inputs["pairs"], cfg.dev_split, cfg.seed)
        return StageResult(TrainAndDev(pairs=train, dev_pairs=dev),
                           {"pairs": train.num_rows, "dev_pairs": dev.num_rows}, tuple(drops))


class SegmentStage(Stage[TrainAndDev, Segments]):
    """Split passages into sentences, normalize punctuation; each distinct text once. The dev
    pairs' segments join the training pairs' (one translation path for both). With
    `hard_negatives.translate: K`, the first K hard negatives of each training pair too (output
    `negatives`; their segments join `unique`, translated and judged like the rest)."""

    name = "segment"
    version = "2"  # 2: the `negatives` output
    libraries = ("blingfire", "sacremoses")

    def config_section(self, cfg: BuildConfig) -> Any:
        k = cfg.hard_negatives.translate
        return {"hard_negatives": k} if k else None  # K = 0: the key of the builds before K existed

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: TrainAndDev) -> StageResult[Segments]:
        pairs = inputs["pairs"]
        seg = segment_table(pairs)
        dev = segment_table(inputs["dev_pairs"])
        unique = sorted(set(seg.unique()) | set(dev.unique())) if inputs["dev_pairs"].num_rows else seg.unique()
        occurrences = seg.occurrences() + dev.occurrences()
        warnings: list[str] = []
        k = cfg.hard_negatives.translate
        cut = [0]
        neg = segment_negatives(pairs, k, cut=cut)
        stats: dict[str, Any] = {}
        if neg is not None:
            own = neg.unique()
            added = own.difference(unique)
            unique = sorted(added.union(unique))
            occurrences += neg.occurrences()
            with_negs = int(np.count_nonzero(np.diff(np.asarray(neg.codes.offsets))))
            stats["negatives"] = {"translate": k, "pairs": with_negs, "asked": neg.slots,
                                  "distinct": neg.distinct.num_rows, "segments": neg.occurrences(),
                                  "unique": len(own), "added": len(added)}
        elif k:
            warnings.append(f"hard_negatives.translate is {k}, but no pair has hard negatives (only sources of "
                            "format dpr carry them): nothing to translate")
        words_cut = seg.words_cut + dev.words_cut
        if words_cut + cut[0]:
            warnings.append(f"{words_cut + cut[0]} word(s) longer than {MAX_WORD_CHARS} characters (no language "
                            "has such words: hashes, base64, garbage) cut into pieces before translation")
        return StageResult(Segments(segmented=seg, unique=unique, dev_segmented=dev,
                                    negatives=neg.to_output() if neg is not None else None),
                           {"occurrences": occurrences, "unique": len(unique), "words_cut": words_cut, **stats},
                           warnings=tuple(warnings))


SOURCE_STAGES: tuple[Stage[Any, Any], ...] = (EvalIndexStage(), CollectStage(), DecontaminateStage(), DedupStage(),
                                    DevSplitStage(), SegmentStage())
