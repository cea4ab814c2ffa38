"""`mt_aug.pipeline.build`: the whole build as library code, on any executor.

collect -> decontaminate(source) -> dedup -> segment -> translate(+cache) -> quality gate ->
reassemble -> decontaminate(target) -> views -> pack -> shards -> manifest, card -> guard ->
publish. The source-side stages are cached under their content keys (mt_aug.pipeline.stage);
translations live in the SQLite cache; the rest is recomputed, cheaply, every build.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from mt_aug import progress as mt_progress
from mt_aug.config import BuildConfig, ModelSpec, load_config
from mt_aug.pipeline.executor import Executor, LocalExecutor, ResultStore
from mt_aug.pipeline.stage import Stage, StageResult
from mt_aug.pipeline.stages import SOURCE_STAGES, contaminated
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import Request, TranslateStats, model_identity, translate_requests
from mt_aug.translation.texts import Segmented, english_texts, null_rows, reassemble_table

log = logging.getLogger("mt_aug.pipeline")

ProgressFn = Callable[[str, int, int], None]
FAILED_PREFIX = ".failed-"  # builds/.failed-<id>: a build the guard refused, kept for inspection


@dataclass
class SourceSide:
    """Everything before translation: what `plan` reports and `build` continues from."""

    pairs: pa.Table
    segmented: Segmented
    unique: list[str]
    indexes: dict[str, Any]
    sources: dict[str, dict[str, Any]]  # per source: read, kept, dropped (merged over the stages)
    drops: list[Drop]
    source_summary: dict[str, Any]
    warnings: list[str]
    input_pairs: int
    occurrences: int
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)


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


def _run_one(stage: Stage, cfg: BuildConfig, executor: Executor, outputs: dict[str, Any], keys: dict[str, str],
             results: dict[str, StageResult], timings: dict[str, dict[str, Any]]) -> None:
    """Run (or reuse) one stage: its key from its declared inputs' keys; its outputs and key
    recorded for the stages after it."""
    key = stage.key(cfg, {name: keys[name] for name in stage.inputs})
    t0 = time.monotonic()
    reused_before = len(getattr(executor, "reused", []))
    result = executor.run_stage(stage, cfg, {name: outputs[name] for name in stage.inputs}, key)
    timings[stage.name] = {"key": key, "seconds": round(time.monotonic() - t0, 3),
                           "reused": len(getattr(executor, "reused", [])) > reused_before}
    for w in result.warnings:
        log.warning("%s: %s", stage.name, w)
    outputs.update(result.outputs)
    keys.update({name: key for name in result.outputs})
    results[stage.name] = result


def run_source_side(cfg: BuildConfig, executor: Executor) -> SourceSide:
    """Eval index, collect, source decontamination, dedup and segmentation (cached stages)."""
    outputs: dict[str, Any] = {}
    keys: dict[str, str] = {}  # output name -> key of the stage result that produced it
    results: dict[str, StageResult] = {}
    timings: dict[str, dict[str, Any]] = {}
    stages = SOURCE_STAGES
    with mt_progress.task("source stages (index, collect, decontaminate, dedup, segment)", total=len(stages),
                       unit="stages") as bar:
        for stage in stages:
            _run_one(stage, cfg, executor, outputs, keys, results, timings)
            bar.advance()
    collected = results["collect"]

    later = list(results["decontaminate"].drops) + list(results["dedup"].drops)
    sources = _merge_sources(collected.stats["sources"], later)
    from mt_aug.release.guard import first_errors

    for name, err in first_errors(collected.drops).items():
        sources[name]["first_error"] = err
    seg: Segmented = outputs["segmented"]
    return SourceSide(
        pairs=outputs["pairs"], segmented=seg, unique=outputs["unique"], indexes=outputs["indexes"],
        sources=sources, drops=list(collected.drops) + later,
        source_summary=results["decontaminate"].stats["summary"],
        warnings=list(results["eval-index"].warnings), input_pairs=sum(c["read"] for c in sources.values()),
        occurrences=results["segment"].stats["occurrences"], stages=timings)


# --- translation ----------------------------------------------------------------------------

@dataclass
class LanguageTranslations:
    lang: str
    spec: ModelSpec
    found: dict[str, Translation]
    stats: TranslateStats


def translate_all(cfg: BuildConfig, unique: list[str], executor: Executor, cache: TranslationCache,
                  progress: ProgressFn | None = None) -> dict[str, LanguageTranslations]:
    """Every target language's segments through the one translation path (cache first, misses
    as work units language x chunk on the executor's workers)."""
    requests = {lang: Request(cfg.translator.for_language(lang), SOURCE_LANG, lang, unique)
                for lang in cfg.target_languages}
    langs = ", ".join(cfg.target_languages)
    with mt_progress.task(f"translate en->{langs}", unit="segments", plain=False) as bar:
        def prog(done: int, total: int, rate: float) -> None:
            bar.callback(done, total, rate)
            if progress is not None:
                progress("translate", done, total)

        got = translate_requests(requests, cache=cache, unit_size=cfg.translator.unit_size, executor=executor,
                                 progress=prog)
    return {lang: LanguageTranslations(lang, requests[lang].spec, found, st) for lang, (found, st) in got.items()}


# --- per language: quality gate, reassembly, target-side decontamination --------------------

@dataclass
class LanguageResult:
    lang: str
    texts: pa.Table
    stats: dict[str, Any]
    drops: list[Drop]
    target_summary: dict[str, Any]


def finish_language(cfg: BuildConfig, side: SourceSide, tr: LanguageTranslations, cache: TranslationCache,
                    vcache: VerdictCache) -> LanguageResult:
    """Judge every translated segment (quality gate, with round-trip where configured; verdicts
    cached), rebuild the pair texts, and drop views that overlap the language's eval texts."""
    from mt_aug.quality.gate import Gate, judge_with_roundtrip, summary

    lang = tr.lang
    segs = [s for s in side.unique if s in tr.found]
    outs = [tr.found[s] for s in segs]
    gate = Gate(cfg.quality, SOURCE_LANG, lang, tuple(cfg.languages))
    with mt_progress.task(f"quality gate {lang} (round-trip translations)", unit="segments") as bar:
        verdict_list, gstats = judge_with_roundtrip(gate, segs, outs, spec=tr.spec, cache=cache, verdict_cache=vcache,
                                                    progress=bar.callback)
    verdicts = dict(zip(segs, verdict_list, strict=True))
    re = reassemble_table(side.pairs, side.segmented, side.unique, tr.found, verdicts, lang)
    drops = list(re.drops)
    texts = re.texts
    drop, tdrops, target_summary = contaminated(texts.column("query"), texts.column("passage"), side.pairs,
                                                side.indexes.get(lang), "target-decontaminate", lang)
    drops += tdrops
    texts = null_rows(texts, drop)
    views = re.views - int(drop.sum())
    quality = summary(segs, outs, verdict_list, gate)
    quality["verdicts_cached"] = gstats.cached
    if gstats.roundtrip_model:
        quality["roundtrip_model"] = gstats.roundtrip_model
        quality["back_translated"] = gstats.back_translated
        quality["back_cached"] = gstats.back_cached
    if gstats.notes:
        quality["notes"] = list(gstats.notes)
    from mt_aug.accounting import count_by

    stats = {
        "segments": side.occurrences,
        "unique": len(side.unique),
        "cached": tr.stats.cached,
        "translated": tr.stats.translated,
        "model_calls": tr.stats.model_calls,
        "seconds": round(tr.stats.seconds, 3),
        "filtered": dict(sorted(re.filtered_segments.items())),
        "views_dropped": count_by(drops, "reason"),
        "views": views,
        "model": model_identity(tr.spec, SOURCE_LANG, lang),
        "backend": tr.spec.backend,
        "quality": quality,
    }
    if tr.stats.cache_mismatches:
        stats["cache_mismatches"] = tr.stats.cache_mismatches
    log.info("%s: %d unique segments, %d from cache, %d translated; %d views kept", lang, len(side.unique),
             tr.stats.cached, tr.stats.translated, views)
    return LanguageResult(lang, texts, stats, drops, target_summary)


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


def result_store(cfg: BuildConfig) -> ResultStore | None:
    """The local ResultStore of the stage results; None for a URL (s3://...), which the Prefect
    executor's result storage serves instead."""
    where = results_location(cfg)
    return None if "://" in where else ResultStore(Path(where))


def exports_dir(output_dir: Path) -> Path:
    """Where opt-in exports of each build go: <output_dir>/exports/<build_id>/."""
    return output_dir / "exports"


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
    from mt_aug.release.lock import BuildLock
    from mt_aug.release.manifest import start_build
    from mt_aug.release.publish import clean_staging, finalize, prune, switch_current

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
        path = translation_cache_path(cfg)
        # both caches open before any work: an unusable cache file fails now, not after the work
        with TranslationCache(path) as cache, VerdictCache.beside(path) as vcache:
            side = run_source_side(cfg, executor)
            translations = translate_all(cfg, side.unique, executor, cache, progress)
            results = {lang: finish_language(cfg, side, tr, cache, vcache) for lang, tr in translations.items()}
        staged = write_build(cfg, info, side, results, run_id)
        if cfg.export.parquet:  # before the build is moved into builds/: a failed export leaves nothing
            from mt_aug.release.export import export_parquet

            try:
                log.info("export: %s", export_parquet(staged, exports_dir(cfg.output_dir) / info.build_id))
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


def write_build(cfg: BuildConfig, info: Any, side: SourceSide, results: dict[str, LanguageResult],
                run_id: str | None) -> Path:
    """Views, packing, shards, drops, manifest and card into a staging directory; the guard
    decides whether it may be published (a failure leaves the staged report for inspection,
    renamed `failed-<id>`, and `current` untouched)."""
    from mt_aug.packing.assemble import views_and_batches, write_shards
    from mt_aug.release.card import write_card
    from mt_aug.release.guard import GuardFailed, check_manifest
    from mt_aug.release.manifest import BuildRecord, build_manifest
    from mt_aug.release.publish import staged, write_json
    from mt_aug.release.verify import verify_build

    texts = {SOURCE_LANG: english_texts(side.pairs)} | {lang: r.texts for lang, r in results.items()}
    corpus, packed, vstats = views_and_batches(cfg, side.pairs, texts)
    view_drops = [d for r in results.values() for d in r.drops]
    record = BuildRecord(
        sources=side.sources, pair_drops=side.drops, source_summary=side.source_summary,
        languages={lang: r.stats for lang, r in results.items()}, view_drops=view_drops,
        target_summary={lang: r.target_summary for lang, r in results.items()}, warnings=list(side.warnings),
        input_pairs=side.input_pairs, kept_pairs=side.pairs.num_rows, stages=side.stages)
    with staged(cfg.output_dir, info.build_id) as build_dir, \
            mt_progress.task("write shards", total=sum(len(b) for b in packed.batches.values()), unit="batches") as bar:
        files, schedule = write_shards(cfg, build_dir, corpus, packed, on_group=bar.advance)
        drops_sha = write_drops(build_dir, side.drops + view_drops)
        manifest = build_manifest(cfg, info, record, vstats, corpus, packed, files, schedule,
                                  {"drops.jsonl": drops_sha}, run_id)
        verdict = check_manifest(manifest, cfg.guards)
        manifest["guard"] = {"warnings": list(verdict.warnings), "failures": list(verdict.failures)}
        for w in verdict.warnings:
            log.warning("guard: %s", w)
        write_card(build_dir, manifest)
        os.sync()  # shards and card on disk before the manifest that declares them
        write_json(build_dir / "manifest.json", manifest)  # last: its presence means the build is complete
        if verdict.failures:
            failed = build_dir.with_name(f"{FAILED_PREFIX}{info.build_id}")
            os.replace(build_dir, failed)
            raise GuardFailed([f"{f} (report: {failed})" if i == 0 else f for i, f in enumerate(verdict.failures)])
        verify_build(build_dir)
    return build_dir


def write_drops(build_dir: Path, drops: list[Drop]) -> str:
    """Every drop with its reason and evidence, one JSON object per line (drops.jsonl); its sha256."""
    import hashlib

    from mt_aug.packing.shards import named

    h = hashlib.sha256()
    path = build_dir / "drops.jsonl"
    try:
        with open(path, "wb") as f:
            for d in drops:
                line = (json.dumps(d.to_dict(), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
                h.update(line)
                f.write(line)
    except OSError as exc:
        raise named(exc, path) from None
    return h.hexdigest()


__all__ = ["SourceSide", "Stage", "build", "run_source_side", "translate_all", "write_build"]
