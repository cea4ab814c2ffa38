"""The `build-corpus` flow: the stages of DESIGN.md as Prefect tasks over the mt_aug library."""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.context import get_run_context
from prefect.futures import as_completed

from flows.runners import make_task_runner
from mt_aug.pipeline import fingerprint, stages
from mt_aug.release.card import write_card
from mt_aug.readers.collect import Collected, collect
from mt_aug.config import BuildConfig, ModelSpec, load_config
from mt_aug.release.lock import BuildLock
from mt_aug.release.publish import clean_staging, finalize, prune, staging_dir, switch_current, write_json
from mt_aug.translation.reassemble import PairSegments, segment_pairs, unique_segments
from mt_aug.schema import SOURCE_LANG, QAPair
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import TranslateStats, cache_scope, translate_unit, work_units
from mt_aug.release.verify import verify_build

# Stage results are passed in memory. Where a stage is cached (stage_caching below), its key
# is an explicit content hash (mt_aug.pipeline.fingerprint), never a hash of pickled inputs.
_task = task(cache_policy=NONE, persist_result=False)


@_task(name="collect")
def collect_task(cfg: BuildConfig) -> Collected:
    got = collect(cfg)
    get_run_logger().info("collected %d pairs from %d records", len(got.pairs), got.ledger.read_total)
    return got


@_task(name="decontaminate-source")
def decontaminate_task(cfg: BuildConfig, collected: Collected, indexes: dict) -> stages.Decontaminated:
    # a copy: `collected` may be a cached result that other runs read again
    dec = stages.decontaminate_source(list(collected.pairs), copy.deepcopy(collected.ledger),
                                      indexes.get(SOURCE_LANG))
    get_run_logger().info("decontaminate: %d pairs kept of %d", len(dec.pairs), len(collected.pairs))
    for w in stages.coverage_warnings(cfg):
        get_run_logger().warning(w)
    return dec


@_task(name="eval-index")
def eval_index_task(cfg: BuildConfig) -> dict:
    return stages.eval_indexes(cfg)


@_task(name="segment")
def segment_task(pairs: list[QAPair]) -> dict[str, PairSegments]:
    return segment_pairs(pairs)


@_task(name="translate-unit", task_run_name="translate-{tgt}-{unit}", retries=2, retry_delay_seconds=5)
def translate_unit_task(spec: ModelSpec, src: str, tgt: str, unit: int, segments: list[str]) -> list[Translation]:
    """One work unit on a worker: pure, no cache; the worker keeps its model between units."""
    return translate_unit(spec, src, tgt, segments)


def translate_languages(cfg: BuildConfig, pairs: list[QAPair], segmented: dict[str, PairSegments],
                        indexes: dict) -> dict[str, stages.LanguageResult]:
    """Look every segment up in the cache, send the misses out as work units (language x
    chunk) to the task runner's workers, and store results as units complete: the flow is
    the cache's one writer, so a crash loses at most the units in flight."""
    logger = get_run_logger()
    segs = unique_segments(segmented)
    state: dict[str, dict] = {}
    futures: dict = {}
    t0 = time.monotonic()
    with TranslationCache(cfg.cache_dir / "translations.sqlite") as cache:
        for lang in cfg.target_languages:
            spec = cfg.translator.for_language(lang)
            scope = cache_scope(spec, SOURCE_LANG, lang)
            found = cache.get_many(scope, segs)
            misses = [x for x in segs if x not in found]
            units = work_units(misses, cfg.translator.unit_size)
            state[lang] = {"spec": spec, "scope": scope, "found": found, "misses": misses, "units": len(units)}
            logger.info("translate %s: %d unique segments, %d in the cache, %d to translate in %d work unit(s)",
                        lang, len(segs), len(found), len(misses), len(units))
            for i, unit in enumerate(units):
                futures[translate_unit_task.submit(spec, SOURCE_LANG, lang, i, unit)] = (lang, unit)
        total_units, total_segs = len(futures), sum(len(u) for _, u in futures.values())
        progress_id = create_progress_artifact(progress=0.0, description="translation work units done") \
            if total_units else None
        done_units = done_segs = 0
        for fut in as_completed(list(futures)):
            lang, unit = futures[fut]
            outs = fut.result()
            cache.put_many(state[lang]["scope"], zip(unit, outs, strict=True))
            state[lang]["found"].update(zip(unit, outs, strict=True))
            done_units += 1
            done_segs += len(unit)
            rate = done_segs / max(time.monotonic() - t0, 1e-9)
            logger.info("translate: %d/%d units, %d/%d segments, %.1f segments/s, ETA %.0fs", done_units,
                        total_units, done_segs, total_segs, rate, (total_segs - done_segs) / max(rate, 1e-9))
            if progress_id is not None:
                update_progress_artifact(progress_id, progress=100.0 * done_units / total_units)
    seconds = time.monotonic() - t0
    results = {}
    for lang, st in state.items():
        tstats = TranslateStats(unique=len(segs), cached=len(segs) - len(st["misses"]), translated=len(st["misses"]),
                                model_calls=-(-len(st["misses"]) // st["spec"].batch_size), seconds=seconds)
        results[lang] = finish_task(cfg, pairs, segmented, lang, st["found"], tstats, indexes)
    return results


@_task(name="reassemble", task_run_name="reassemble-{lang}")
def finish_task(cfg: BuildConfig, pairs: list[QAPair], segmented: dict[str, PairSegments], lang: str,
                translations: dict[str, Translation], tstats: TranslateStats, indexes: dict) -> stages.LanguageResult:
    return stages.finish_language(cfg, pairs, segmented, lang, translations, tstats, indexes.get(lang))


@_task(name="write-build")
def write_task(cfg: BuildConfig, info: stages.BuildInfo, decon: stages.Decontaminated,
               results: dict[str, stages.LanguageResult], flow_run_id: str | None) -> Path:
    assert decon.ledger is not None
    ledger = decon.ledger
    texts = {SOURCE_LANG: stages.english_texts(decon.pairs)} | {lang: r.texts for lang, r in results.items()}
    corpus, packed, vstats = stages.views_and_batches(cfg, decon.pairs, texts)
    build_dir = staging_dir(cfg.output_dir, info.build_id)
    try:
        files, schedule = stages.write_shards(cfg, build_dir, corpus, packed)
        manifest = stages.build_manifest(cfg, info, ledger, ledger.read_total, len(decon.pairs), decon, results,
                                         vstats, corpus, packed, files, schedule, flow_run_id)
        stages.write_drops(build_dir, ledger, results)
        write_card(build_dir, manifest)
        os.sync()  # shards and card on disk before the manifest that declares them
        write_json(build_dir / "manifest.json", manifest)  # last: its presence means the build is complete
        verify_build(build_dir)
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)  # `current` still points at the last complete build
        raise
    return build_dir


@_task(name="artifacts")
def artifacts_task(build_dir: Path) -> None:
    """The card's summary tables on the flow run, for the Prefect UI."""
    import json

    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    m = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    card = (build_dir / "README.md").read_text(encoding="utf-8").split("---\n", 2)[-1]
    key = "".join(ch if ch.isalnum() else "-" for ch in m["name"].lower())
    create_markdown_artifact(markdown=card, key=f"{key}-card", description=f"Data card of build {m['build_id']}")
    create_table_artifact(
        key=f"{key}-sources",
        table=[{"source": n, "read": s["read"], "kept": s["kept"], "license": s["license"],
                **{f"dropped: {r}": c for r, c in s["dropped"].items()}} for n, s in sorted(m["sources"].items())],
        description="Records read, kept and dropped per source",
    )
    create_table_artifact(
        key=f"{key}-translation",
        table=[{"language": lang, **{k: t[k] for k in ("segments", "unique", "cached", "translated", "views")},
                "filtered": sum(t["filtered"].values()), "model": t["model"]}
               for lang, t in sorted(m["translation"].items())],
        description="Translation per target language",
    )
    create_table_artifact(
        key=f"{key}-batches",
        table=[{"kind": kind, "group": g, "batches": n, "leftover rows": m["leftovers"][kind].get(g, 0)}
               for kind in ("mono", "cross") for g, n in sorted(m["batches"][kind].items())],
        description="Batches per language / language pair",
    )


@_task(name="publish")
def publish_task(cfg: BuildConfig, info: stages.BuildInfo, staged: Path) -> Path:
    final = finalize(cfg.output_dir, staged, info.build_id)
    switch_current(cfg.output_dir, info.build_id)
    removed = prune(cfg.output_dir, cfg.keep_builds)
    if removed:
        get_run_logger().info("pruned old builds: %s", ", ".join(removed))
    return final


def stage_caching(cfg: BuildConfig):  # type: ignore[no-untyped-def]
    """Wrap a stage task so its result is persisted and reused under an explicit content key
    (stage code + config section + input fingerprints: mt_aug.pipeline.fingerprint), in
    cfg.result_storage (a folder, or any fsspec URL) or <cache_dir>/results."""
    from prefect.cache_policies import CacheKeyFnPolicy
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem

    where = cfg.result_storage or str(cfg.cache_dir / "results")
    block = RemoteFileSystem(basepath=where) if "://" in where else LocalFileSystem(basepath=where)
    block.save("mt-aug-results-" + hashlib.sha256(where.encode()).hexdigest()[:12], overwrite=True)

    def cached(stage, key: str):  # type: ignore[no-untyped-def]
        return stage.with_options(cache_policy=CacheKeyFnPolicy(cache_key_fn=lambda _ctx, _params: key),
                                  persist_result=True, result_storage=block)

    return cached


@flow(name="build-corpus", log_prints=True, task_runner=make_task_runner("local"))
def build_corpus(config_path: str, output_dir: str | None = None, cache_dir: str | None = None) -> str:
    """Build the corpus a config describes and publish it as `<output_dir>/current`."""
    cfg = load_config(config_path, output_dir=output_dir, cache_dir=cache_dir)
    info = stages.start_build(cfg)
    ctx = get_run_context()
    flow_run_id = str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None
    logger = get_run_logger()
    logger.info("build %s of %s into %s", info.build_id, cfg.name, cfg.output_dir)
    with BuildLock(cfg.output_dir, info.build_id) as lock:
        if lock.stale:
            logger.warning("replaced the lock record of build %s (pid %s), which is no longer running",
                           lock.stale.get("build_id"), lock.stale.get("pid"))
        for leftover in clean_staging(cfg.output_dir):
            logger.warning("removed %s, left by a build that did not finish", leftover)
        cached = stage_caching(cfg)
        indexes = cached(eval_index_task, fingerprint.eval_index_key(cfg))(cfg)
        collected = cached(collect_task, fingerprint.collect_key(cfg))(cfg)
        decon = cached(decontaminate_task, fingerprint.decontaminate_key(cfg))(cfg, collected, indexes)
        segmented = cached(segment_task, fingerprint.segment_key(cfg))(decon.pairs)
        results = translate_languages(cfg, decon.pairs, segmented, indexes)
        staged = write_task(cfg, info, decon, results, flow_run_id)
        final = publish_task(cfg, info, staged)
        artifacts_task(final)
    return str(final)
