"""The build's stages (DESIGN.md) as `Stage` classes over the library's functions.

Each declares what it reads and writes, its version and libraries (its cache key derives from
them), and returns its outputs, statistics and drops. No stage knows about Prefect, the
executor that runs it, or the others' statistics."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mt_aug.config import BuildConfig
from mt_aug.decontamination.apply import EvalSummary, find_contamination_columns
from mt_aug.decontamination.matcher import EvalIndex, build_index
from mt_aug.pipeline.stage import Resources, Stage, StageResult
from mt_aug.readers.collect import collect, dedup, row_labels
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.negatives import decontaminate_english, segment_negatives
from mt_aug.translation.segment import MAX_WORD_CHARS
from mt_aug.translation.texts import compact, segment_table

log = logging.getLogger("mt_aug.pipeline")


# --- decontamination helpers (also used by `plan`) ------------------------------------------

def eval_indexes(cfg: BuildConfig) -> tuple[dict[str, EvalIndex], list[str]]:
    """One index per language that has eval files, and the warnings reading them raised."""
    out, warnings = {}, []
    for lang in cfg.languages:
        idx = build_index(cfg.eval_sets, lang, cfg.decontamination.ngram, cfg.decontamination.question_similarity)
        if idx is not None:
            out[lang] = idx
            warnings += [f"eval index {lang}: {w}" for w in idx.warnings]
    return out, warnings


def coverage_warnings(cfg: BuildConfig) -> list[str]:
    """Languages of the build that no eval set covers: said out loud, never a silent zero."""
    if not cfg.eval_sets:
        return ["no eval_sets configured: nothing was decontaminated"]
    covered = {lang for es in cfg.eval_sets for lang in cfg.languages if es.files(lang)}
    out = [f"no eval file for language {lang!r}: its {'source' if lang == SOURCE_LANG else 'translated'} "
           "texts were not checked" for lang in cfg.languages if lang not in covered]
    for es in cfg.eval_sets:
        for lang in cfg.languages:
            extra = es.qrels_files(lang) + es.corpus_files(lang)
            if extra and not es.files(lang):
                out.append(f"eval set {es.name!r}: qrels/corpus for language {lang!r} but no queries file in "
                           "`paths`: not used")
            elif es.files(lang) and es.corpus_files(lang) and not es.qrels_files(lang):
                out.append(f"eval set {es.name!r} ({lang}): corpus without qrels: every corpus passage was indexed "
                           "(for a whole-Wikipedia corpus such as MIRACL's this drops most Wikipedia-based passages)")
    return out


def contaminated(questions: pa.ChunkedArray, passages: pa.ChunkedArray, pairs: pa.Table, index: EvalIndex | None,
                 stage: str, lang: str) -> tuple[np.ndarray, list[Drop], dict[str, Any]]:
    """(rows to drop, their drops, summary per eval set) of texts (row i of pair i of `pairs`)
    against one language's index."""
    drop = np.zeros(len(questions), dtype=bool)
    if index is None:
        return drop, [], {}
    summary: dict[str, EvalSummary] = {}
    hits = find_contamination_columns(questions, passages, index, summary)
    rows = sorted(hits)
    drop[rows] = True
    drops = [Drop(stage, source, rid, f"contaminated:{hits[row].eval_set}", lang=lang, detail=hits[row].detail())
             for row, source, rid in zip(rows, *row_labels(pairs, rows), strict=True)]
    return drop, drops, {k: v.to_dict() for k, v in sorted(summary.items())}


# --- stages ---------------------------------------------------------------------------------

def _eval_files(cfg: BuildConfig) -> list[Path]:
    return sorted({p for es in cfg.eval_sets for lang in cfg.languages
                   for p in es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)})


class EvalIndexStage(Stage):
    """Index every eval set's texts per language (n-grams, exact and similarity keys)."""

    name = "eval-index"
    version = "1"
    outputs = ("indexes",)
    resources = Resources(cpus=1)

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"eval_sets": [es.model_dump(mode="json") for es in cfg.eval_sets],
                "decontamination": cfg.decontamination.model_dump(mode="json"), "languages": cfg.languages}

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        return _eval_files(cfg)

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        indexes, warnings = eval_indexes(cfg)
        stats = {lang: idx.stats() for lang, idx in sorted(indexes.items())}
        return StageResult({"indexes": indexes}, stats, (), tuple(warnings + coverage_warnings(cfg)))


class CollectStage(Stage):
    """Read every source into the pairs table, counting every record read, kept or rejected."""

    name = "collect"
    version = "1"
    outputs = ("pairs",)
    libraries = ("mt-aug-schema", "datasets")

    def config_section(self, cfg: BuildConfig) -> Any:
        return [s.model_dump(mode="json") for s in cfg.sources]

    def input_files(self, cfg: BuildConfig) -> list[Path]:
        return [p for s in cfg.sources for _, p in s.input_files()]

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        got = collect(cfg)
        stats = {"sources": {name: c.to_dict() for name, c in got.counts.items()}, "pairs": got.pairs.num_rows}
        return StageResult({"pairs": got.pairs}, stats, tuple(got.drops))


class DecontaminateStage(Stage):
    """Drop English pairs whose passage or question overlaps an English eval text (a
    contaminated passage drops every pair that uses it), and the English hard negatives that
    overlap one (the negative only, counted: drops of stage `hard-negatives`)."""

    name = "decontaminate"
    version = "2"  # 2: hard negatives decontaminated too
    inputs = ("pairs", "indexes")
    outputs = ("pairs",)

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        pairs: pa.Table = inputs["pairs"]
        index = inputs["indexes"].get(SOURCE_LANG)
        drop, drops, summary = contaminated(pairs.column("question"), pairs.column("passage"), pairs,
                                            index, "decontaminate", SOURCE_LANG)
        kept, neg_drops, neg_counts = decontaminate_english(pairs.filter(pa.array(~drop)), index)
        stats: dict[str, Any] = {"summary": summary}
        if neg_counts:
            stats["negatives"] = neg_counts
        return StageResult({"pairs": kept}, stats, tuple(drops) + tuple(neg_drops))


class DedupStage(Stage):
    """Drop repeated pairs (same normalized question on the same passage, or a repeated id)."""

    name = "dedup"
    version = "1"
    inputs = ("pairs",)
    outputs = ("pairs",)

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        keep, drops = dedup(inputs["pairs"])
        pairs = compact(inputs["pairs"].filter(pa.array(keep)))
        return StageResult({"pairs": pairs}, {"pairs": pairs.num_rows}, tuple(drops))


class SegmentStage(Stage):
    """Split passages into sentences, normalize punctuation; each distinct text once. With
    `hard_negatives.translate: K`, the first K hard negatives of each pair too (output
    `negatives`; their segments join `unique`, translated and judged like the rest)."""

    name = "segment"
    version = "2"  # 2: the `negatives` output
    inputs = ("pairs",)
    outputs = ("segmented", "unique", "negatives")
    libraries = ("blingfire", "sacremoses")

    def config_section(self, cfg: BuildConfig) -> Any:
        k = cfg.hard_negatives.translate
        return {"hard_negatives": k} if k else None  # K = 0: the key of the builds before K existed

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        pairs: pa.Table = inputs["pairs"]
        seg = segment_table(pairs)
        unique = seg.unique()
        warnings: list[str] = []
        k = cfg.hard_negatives.translate
        cut = [0]
        neg = segment_negatives(pairs, k, cut=cut)
        stats: dict[str, Any] = {}
        occurrences = seg.occurrences()
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
        if seg.words_cut + cut[0]:
            warnings.append(f"{seg.words_cut + cut[0]} word(s) longer than {MAX_WORD_CHARS} characters (no language "
                            "has such words: hashes, base64, garbage) cut into pieces before translation")
        return StageResult({"segmented": seg, "unique": unique,
                            "negatives": neg.to_output() if neg is not None else None},
                           {"occurrences": occurrences, "unique": len(unique), "words_cut": seg.words_cut, **stats},
                           warnings=tuple(warnings))


SOURCE_STAGES: tuple[Stage, ...] = (EvalIndexStage(), CollectStage(), DecontaminateStage(), DedupStage(),
                                    SegmentStage())
