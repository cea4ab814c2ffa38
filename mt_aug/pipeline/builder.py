"""`mt_aug.pipeline.build`: the whole build as library code, a sequence of stages on any executor.

    eval-index, collect, decontaminate, dedup, dev-split, segment   (mt_aug.pipeline.stages)
    translate, quality-<lang> for each target language              (mt_aug.pipeline.target_stages)
    dev, pack, write                                                (mt_aug.pipeline.release_stages)
    then publish: finalize the staged build, switch `current`, prune old builds

Every stage runs through `executor.run_stage` (the local executor in this process; Prefect's
runs each as a task of that name), under a key derived from its declaration
(mt_aug.pipeline.stage), with the `StageContext` of the run: the executor, and once `build()`
has opened them the translation and verdict caches, the progress callback and the build
being written. The source-side stages' results are cached under their keys;
translations and quality verdicts are cached per segment in SQLite; pack and write run every
build. Statistics are merged here, from the stages' results (`Run.results`), into the
`BuildRecord` the write stage turns into the manifest; no stage mutates shared state. The
manifest's `stages` lists every stage with its key, seconds and whether its result was reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mt_aug import progress as mt_progress
from mt_aug.accounting import count_by
from mt_aug.config import BuildConfig, load_config
from mt_aug.negatives.english import STAGE as NEGATIVE_STAGE
from mt_aug.negatives.english import SegmentedNegatives
from mt_aug.pipeline.executor import Executor, LocalExecutor, ResultStore
from mt_aug.pipeline.release_stages import FAILED_PREFIX, DevStage, PackStage, WriteStage, write_drops
from mt_aug.pipeline.stage import ProgressFn, Stage, StageContext, StageResult
from mt_aug.pipeline.stages import SOURCE_STAGES
from mt_aug.pipeline.target_stages import (LanguageResult, LanguageTranslations, QualityStage, TranslateStage,
                                           judge_language, language_stats, translate_all)
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.release.export import export_parquet
from mt_aug.release.guard import first_errors
from mt_aug.release.lock import BuildLock
from mt_aug.release.manifest import BuildRecord, start_build
from mt_aug.release.publish import clean_staging, finalize, prune, switch_current
from mt_aug.schema import Drop
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.texts import Segmented

log = logging.getLogger("mt_aug.pipeline")


class Run:
    """The stage runs of one build (or plan): every output by name, the key of the stage result
    it came from, each stage's result and timing, and the `StageContext` every stage is handed
    (`ctx`: the executor; `build()` adds the caches, the progress callback and the build once
    it has them). `run(stage)` feeds a stage the outputs it declares as inputs, keys it on their
    keys, and runs it through the executor."""

    def __init__(self, cfg: BuildConfig, executor: Executor, ctx: StageContext | None = None) -> None:
        self.cfg, self.executor = cfg, executor
        self.ctx = ctx if ctx is not None else StageContext(executor, unit_size=cfg.translator.unit_size)
        self.outputs: dict[str, Any] = {}
        self.keys: dict[str, str] = {}  # output name -> key of the result (or merge) that gave it
        self.results: dict[str, StageResult[dict[str, Any]]] = {}  # stage name -> its result
        self.timings: dict[str, dict[str, Any]] = {}  # stage name -> {order, key, seconds, reused}

    def key(self, stage: Stage[Any, Any], **extra_keys: str) -> str:
        """The stage's content key from its inputs' keys (`extra_keys`: of inputs not provided yet)."""
        keys = {**self.keys, **extra_keys}
        return stage.key(self.cfg, {name: keys[name] for name in stage.inputs})

    def run(self, stage: Stage[Any, Any], key: str | None = None) -> StageResult[dict[str, Any]]:
        """`key`: the stage's key when the caller already computed it (`key(stage)`)."""
        key = key if key is not None else self.key(stage)
        t0 = time.monotonic()
        reused_before = len(self.executor.reused)
        result = self.executor.run_stage(stage, self.ctx, self.cfg, {name: self.outputs[name] for name in stage.inputs},
                                         key)
        self.timings[stage.name] = {"order": self.next_order(), "key": key,
                                    "seconds": round(time.monotonic() - t0, 3),
                                    "reused": len(self.executor.reused) > reused_before}
        for w in result.warnings:
            log.warning("%s: %s", stage.name, w)
        self.outputs.update(result.outputs)
        self.keys.update({name: key for name in result.outputs})
        self.results[stage.name] = result
        return result

    def next_order(self) -> int:
        """The next stage's place in the run (1, 2, ...): the manifest's `stages` is a JSON
        object, written with sorted keys, so each entry says where it ran."""
        return len(self.timings) + 1

    def fingerprint(self) -> str:
        """A key for what the pipeline merges from every result so far."""
        blob = json.dumps(sorted(t["key"] for t in self.timings.values()))
        return "merged-" + hashlib.sha256(blob.encode()).hexdigest()[:32]

    def provide(self, name: str, value: Any, key: str) -> None:
        """An input the pipeline itself made (merged from stage results), under `key`."""
        self.outputs[name] = value
        self.keys[name] = key


@dataclass
class SourceSide:
    """Everything before translation: what `plan` reports and `build` continues from."""

    pairs: pa.Table  # the training pairs (the dev split held out)
    segmented: Segmented
    unique: list[str]  # every distinct segment to translate, the dev pairs' included
    indexes: dict[str, Any]
    sources: dict[str, dict[str, Any]]  # per source: read, kept, dropped (merged over the stages)
    drops: list[Drop]
    source_summary: dict[str, Any]
    warnings: list[str]
    input_pairs: int
    occurrences: int
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    dev_pairs: pa.Table | None = None  # the held-out dev pairs (empty: no dev split)
    dev_segmented: Segmented | None = None
    # hard negatives: the first K of each pair segmented (hard_negatives.translate > 0), the English
    # ones decontamination removed (drops of stage `hard-negatives`), the segment stage's counts
    negatives: SegmentedNegatives | None = None
    negative_drops: list[Drop] = field(default_factory=list)
    negative_stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # the segment stage's warnings (`plan` shows them)


def _merge_sources(collected: dict[str, dict[str, Any]], later: list[Drop]) -> dict[str, dict[str, Any]]:
    """Per-source accounting: collect's counts, minus the pairs later stages dropped (each
    moves from kept to dropped under its reason): read == kept + sum(dropped) holds."""
    out = {name: {**c, "dropped": dict(c["dropped"])} for name, c in collected.items()}
    for d in later:
        s = out[d.source]
        s["kept"] -= 1
        s["dropped"][d.reason] = s["dropped"].get(d.reason, 0) + 1
    for name, s in out.items():
        s["dropped"] = dict(sorted(s["dropped"].items()))
        if s["read"] != s["kept"] + sum(s["dropped"].values()):
            raise AssertionError(f"source {name}: read {s['read']} != kept {s['kept']} + dropped")
    return out


def run_source_side(cfg: BuildConfig, executor: Executor, run: Run | None = None) -> SourceSide:
    """Eval index, collect, source decontamination, dedup and segmentation (cached stages), and
    the per-source accounting merged from their results. `run`: a build's Run to continue."""
    run = run if run is not None else Run(cfg, executor)
    stages = SOURCE_STAGES
    with mt_progress.task("source stages (index, collect, decontaminate, dedup, dev split, segment)", total=len(stages),
                          unit="stages") as bar:
        for stage in stages:
            run.run(stage)
            bar.advance()
    results, outputs = run.results, run.outputs
    collected = results["collect"]
    later = list(results["decontaminate"].drops) + list(results["dedup"].drops) + list(results["dev-split"].drops)
    negative_drops = [d for d in later if d.stage == NEGATIVE_STAGE]  # a negative, not its pair
    later = [d for d in later if d.stage != NEGATIVE_STAGE]
    sources = _merge_sources(collected.stats["sources"], later)

    for name, err in first_errors(collected.drops).items():
        sources[name]["first_error"] = err
    seg: Segmented = outputs["segmented"]
    return SourceSide(
        pairs=outputs["pairs"], segmented=seg, unique=outputs["unique"], indexes=outputs["indexes"],
        sources=sources, drops=list(collected.drops) + later,
        source_summary=results["decontaminate"].stats["summary"],
        warnings=list(results["eval-index"].warnings), input_pairs=sum(c["read"] for c in sources.values()),
        occurrences=results["segment"].stats["occurrences"], stages=dict(run.timings),
        dev_pairs=outputs["dev_pairs"], dev_segmented=outputs["dev_segmented"],
        negatives=SegmentedNegatives.from_output(outputs["negatives"]), negative_drops=negative_drops,
        negative_stats={**results["segment"].stats.get("negatives", {}),
                        **({"decontaminated": results["decontaminate"].stats["negatives"]}
                           if "negatives" in results["decontaminate"].stats else {})},
        notes=list(results["segment"].warnings))


# --- translation and the per-language step, as plain functions (tests, notebooks) ----------

def finish_language(ctx: StageContext, cfg: BuildConfig, side: SourceSide, tr: LanguageTranslations) -> LanguageResult:
    """One target language after translation, as the `quality-<lang>` stage computes it (with
    `ctx`'s caches and executor), with the manifest's merged statistics (segment, translate and
    quality figures)."""
    got = judge_language(ctx, cfg, tr.lang, side.pairs, side.segmented, side.unique, side.indexes, tr,
                         side.dev_pairs, side.dev_segmented, side.negatives)
    got.stats = language_stats(side.occurrences, tr.summary(), got.stats)
    return got


# --- the whole build --------------------------------------------------------------------------

def _config(config: str | Path | BuildConfig, output_dir: str | Path | None,
            cache_dir: str | Path | None) -> tuple[BuildConfig, Path | None]:
    if isinstance(config, BuildConfig):
        updates: dict[str, Any] = {}
        if output_dir is not None:
            updates["output_dir"] = Path(output_dir).resolve()
        if cache_dir is not None:
            updates["cache_dir"] = Path(cache_dir).resolve()
        return (config.model_copy(update=updates) if updates else config), None
    path = Path(config)
    return load_config(path, output_dir=output_dir, cache_dir=cache_dir), path.resolve().parent


def translation_cache_path(cfg: BuildConfig) -> Path:
    return cfg.cache_dir / TranslationCache.FILE


def results_location(cfg: BuildConfig) -> str:
    """Where cached stage results live: `result_storage` (a folder or an fsspec URL) or
    <cache_dir>/results."""
    return cfg.result_storage or str(cfg.cache_dir / "results")


def result_store(cfg: BuildConfig) -> ResultStore:
    """The store of cached stage results (a folder, or an fsspec URL such as s3://...), for every
    executor: results are data files (mt_aug.pipeline.results), never pickles."""
    return ResultStore(results_location(cfg))


def exports_dir(output_dir: Path) -> Path:
    """Where opt-in exports of each build go: <output_dir>/exports/<build_id>/."""
    return output_dir / "exports"


def merge_record(cfg: BuildConfig, side: SourceSide, run: Run, stages: dict[str, dict[str, Any]]) -> Any:
    """The BuildRecord the manifest is written from, merged from the stages' results: the source
    side's accounting, per target language the translate and quality stages' figures and drops."""
    translated = run.results["translate"].stats
    languages: dict[str, dict[str, Any]] = {}
    view_drops: list[Drop] = []
    target_summary: dict[str, dict[str, Any]] = {}
    negative_drops = list(side.negative_drops)
    negatives: dict[str, dict[str, Any]] = {}
    for lang in cfg.target_languages:
        judged = run.results[f"quality-{lang}"]
        languages[lang] = language_stats(side.occurrences, translated[lang], judged.stats)
        view_drops += [d for d in judged.drops if d.stage != NEGATIVE_STAGE]
        negative_drops += [d for d in judged.drops if d.stage == NEGATIVE_STAGE]
        if "negatives" in judged.stats:
            negatives[lang] = judged.stats["negatives"]
        target_summary[lang] = judged.stats["target_summary"]
        st = languages[lang]
        log.info("%s: %d unique segments, %d from cache, %d translated; %d views kept", lang, st["unique"],
                 st["cached"], st["translated"], st["views"])
    return BuildRecord(
        sources=side.sources, pair_drops=side.drops, source_summary=side.source_summary, languages=languages,
        view_drops=view_drops, target_summary=target_summary, warnings=list(side.warnings),
        input_pairs=side.input_pairs, kept_pairs=side.pairs.num_rows, stages=stages,
        words_cut=side.segmented.words_cut,
        negatives=negatives_record(cfg, side, negatives) if "hard_negatives" in side.pairs.column_names
        or cfg.hard_negatives.translate else None,
        negative_drops=negative_drops)


def negatives_record(cfg: BuildConfig, side: SourceSide, per_language: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The manifest's `hard_negatives`: K, the English negatives the shards carry and those
    decontamination removed, the segment stage's counts, and per target language the
    negatives asked for (the first K of each pair), kept and dropped by reason."""
    english = 0
    if "hard_negatives" in side.pairs.column_names:
        english = int(pc.sum(pc.list_value_length(side.pairs.column("hard_negatives"))).as_py() or 0)
    st = side.negative_stats
    out: dict[str, Any] = {"translate": cfg.hard_negatives.translate,
                           "en": {"kept": english, "dropped": dict(sorted(count_by(side.negative_drops,
                                                                                   "reason").items()))}}
    for key in ("pairs", "asked", "distinct", "segments", "unique", "added"):
        if key in st:
            out[key] = st[key]
    out["languages"] = dict(sorted(per_language.items()))
    return out


def build(
    config: str | Path | BuildConfig,
    *,
    output_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    run_id: str | None = None,
    progress: ProgressFn | None = None,
    lock: bool = True,
) -> Path:
    """Build the corpus a config describes and publish it as `<output_dir>/current`.

    `config`: a config file path or a loaded BuildConfig. Returns the published build
    directory. Without an executor, everything runs in this process (LocalExecutor).
    `lock=False`: the caller holds the output_dir's build lock (`mt-aug build` takes it before
    Prefect starts)."""
    cfg, config_dir = _config(config, output_dir, cache_dir)
    if executor is None:
        executor = LocalExecutor(result_store(cfg))
    info = start_build(cfg, config_dir)
    log.info("build %s of %s into %s", info.build_id, cfg.name, cfg.output_dir)
    with (BuildLock(cfg.output_dir, info.build_id) if lock else nullcontext()) as held:
        if held is not None and held.stale:
            log.warning("replaced the lock record of build %s (pid %s), which is no longer running",
                        held.stale.get("build_id"), held.stale.get("pid"))
        for leftover in clean_staging(cfg.output_dir):
            log.warning("removed %s, left by a build that did not finish", leftover)
        run = Run(cfg, executor)
        path = translation_cache_path(cfg)
        # both caches open before any work: an unusable cache file fails now, not after the work
        with TranslationCache(path) as cache, VerdictCache.beside(path) as vcache:
            run.ctx = StageContext(executor, cache, vcache, cfg.translator.unit_size, progress, info, run_id)
            side = run_source_side(cfg, executor, run)
            run.run(TranslateStage())
            for lang in cfg.target_languages:
                run.run(QualityStage(lang))
        run.ctx = StageContext(executor, unit_size=cfg.translator.unit_size, progress=progress, build=info,
                               run_id=run_id)  # the caches are closed: the stages after need none
        run.run(DevStage(cfg.target_languages))
        run.run(PackStage(cfg.target_languages))
        write = WriteStage()
        merged = run.fingerprint()
        # the manifest lists every stage, this one too: its key now, its seconds from the stage
        key = run.key(write, record=merged)
        own = {write.name: {"order": run.next_order(), "key": key, "reused": False}}
        run.provide("record", merge_record(cfg, side, run, {**run.timings, **own}), merged)
        staged: Path = run.run(write, key)["staged"]
        if cfg.export.parquet:  # before the build is moved into builds/: a failed export leaves nothing

            try:
                log.info("export: %s", export_parquet(staged, exports_dir(cfg.output_dir) / info.build_id, verified=True))
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                shutil.rmtree(exports_dir(cfg.output_dir) / info.build_id, ignore_errors=True)
                raise
        final = finalize(cfg.output_dir, staged, info.build_id)
        switch_current(cfg.output_dir, info.build_id)
        removed = prune(cfg.output_dir, cfg.keep_builds)
        for name in removed:
            shutil.rmtree(exports_dir(cfg.output_dir) / name, ignore_errors=True)
        if removed:
            log.info("pruned old builds: %s", ", ".join(removed))
    return final


__all__ = ["FAILED_PREFIX", "LanguageResult", "LanguageTranslations", "Run", "SourceSide", "Stage", "build",
           "finish_language", "merge_record", "run_source_side", "translate_all", "write_drops"]
