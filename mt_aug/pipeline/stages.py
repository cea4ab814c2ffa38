"""The build's stages as plain functions over records (no Prefect here: flows/ orchestrates
them). Each returns what the next needs plus the counts the manifest and card report."""

from __future__ import annotations

import logging
import platform
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mt_aug import __version__
from mt_aug.accounting import Ledger, count_by
from mt_aug.packing.batching import Packed, balance_ratio, hybrid_order, pack
from mt_aug.readers.collect import dedup
from mt_aug.config import BuildConfig
from mt_aug.packing.corpus import Corpus, build_corpus
from mt_aug.decontamination.matcher import EvalIndex, EvalSummary, build_index, find_contamination
from mt_aug.translation.reassemble import PairSegments, PairText, reassemble, unique_segments
from mt_aug.schema import SOURCE_LANG, Drop, QAPair
from mt_aug.packing.shards import ShardFile, rows_table, sha256_file, shard_schema, write_group, write_schedule
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import ProgressFn, TranslateStats, model_identity, translate_unique
from mt_aug.packing.views import ViewStats, assign_views

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildInfo:
    build_id: str
    started_at: str
    config_hash: str


def start_build(cfg: BuildConfig) -> BuildInfo:
    now = time.gmtime()
    h = cfg.content_hash()
    build_id = time.strftime("%Y%m%dT%H%M%SZ", now) + "-" + h[:8]
    n = 1
    while (cfg.output_dir / "builds" / build_id).exists():  # two builds within one second
        n += 1
        build_id = f"{time.strftime('%Y%m%dT%H%M%SZ', now)}-{h[:8]}-{n}"
    return BuildInfo(build_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", now), h)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# --- decontamination ----------------------------------------------------------------------

@dataclass
class Decontaminated:
    pairs: list[QAPair]
    summary: dict[str, EvalSummary]
    ledger: Ledger | None = None  # the collect ledger with this stage's drops added


def eval_indexes(cfg: BuildConfig) -> dict[str, EvalIndex]:
    """One index per language that has eval files."""
    out = {}
    for lang in cfg.languages:
        idx = build_index(cfg.eval_sets, lang, cfg.decontamination.ngram, cfg.decontamination.question_similarity)
        if idx is not None:
            out[lang] = idx
    return out


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


def decontaminate_source(pairs: list[QAPair], ledger: Ledger, index: EvalIndex | None) -> Decontaminated:
    """Drop English pairs whose question or passage overlaps an English eval text, then
    exact duplicates among the rest."""
    summary: dict[str, EvalSummary] = {}
    if index is None:
        return Decontaminated(dedup(pairs, ledger), summary, ledger)
    hits = find_contamination(((p.pair_id, p.question, p.passage) for p in pairs), index, summary)
    kept = []
    for p in pairs:
        m = hits.get(p.pair_id)
        if m is None:
            kept.append(p)
        else:
            ledger.drop(Drop("decontaminate", p.source, p.id, f"contaminated:{m.eval_set}", detail=m.detail()))
    return Decontaminated(dedup(kept, ledger), summary, ledger)


# --- translation --------------------------------------------------------------------------

@dataclass
class LanguageResult:
    lang: str
    texts: dict[str, PairText]
    stats: dict[str, Any]
    drops: list[Drop] = field(default_factory=list)
    target_summary: dict[str, EvalSummary] = field(default_factory=dict)


def translate_language(
    cfg: BuildConfig,
    pairs: list[QAPair],
    segmented: dict[str, PairSegments],
    lang: str,
    index: EvalIndex | None,
    progress: ProgressFn | None = None,
) -> LanguageResult:
    """Translate (in this process), reassemble, quality-filter and target-side decontaminate one
    language. The flow does the same with translation spread over work units."""
    spec = cfg.translator.for_language(lang)
    with TranslationCache(cfg.cache_dir / "translations.sqlite") as cache:
        translations, tstats = translate_unique(unique_segments(segmented), spec=spec, src=SOURCE_LANG, tgt=lang,
                                                cache=cache, progress=progress)
    return finish_language(cfg, pairs, segmented, lang, translations, tstats, index)


def finish_language(
    cfg: BuildConfig,
    pairs: list[QAPair],
    segmented: dict[str, PairSegments],
    lang: str,
    translations: dict[str, Translation],
    tstats: TranslateStats,
    index: EvalIndex | None,
) -> LanguageResult:
    """Reassemble, quality-filter and target-side decontaminate one translated language."""
    spec = cfg.translator.for_language(lang)
    occurrences = sum(len(ps.all()) for ps in segmented.values())
    re = reassemble(pairs, segmented, translations, lang, cfg.quality, tuple(cfg.languages))
    drops = list(re.drops)
    target_summary: dict[str, EvalSummary] = {}
    texts = re.texts
    if index is not None:
        by_id = {p.pair_id: p for p in pairs}
        hits = find_contamination(((pid, t.question, t.passage) for pid, t in texts.items()), index, target_summary)
        for pid, m in hits.items():
            p = by_id[pid]
            drops.append(Drop("target-decontaminate", p.source, p.id, f"contaminated:{m.eval_set}", lang=lang,
                              detail=m.detail()))
        texts = {pid: t for pid, t in texts.items() if pid not in hits}
    stats = {
        "segments": occurrences,
        "unique": tstats.unique,
        "cached": tstats.cached,
        "translated": tstats.translated,
        "model_calls": tstats.model_calls,
        "seconds": round(tstats.seconds, 3),
        "filtered": dict(sorted(re.filtered_segments.items())),
        "views_dropped": count_by(drops, "reason"),
        "views": len(texts),
        "model": model_identity(spec, SOURCE_LANG, lang),
        "backend": spec.backend,
    }
    log.info("translate %s: %d unique segments, %d from cache, %d translated in %.1fs; %d views kept",
             lang, tstats.unique, tstats.cached, tstats.translated, tstats.seconds, len(texts))
    return LanguageResult(lang, texts, stats, drops, target_summary)


def english_texts(pairs: list[QAPair]) -> dict[str, PairText]:
    return {p.pair_id: PairText(p.question, p.passage_title, p.passage) for p in pairs}


# --- views, batches, shards ---------------------------------------------------------------

def views_and_batches(cfg: BuildConfig, pairs: list[QAPair],
                      texts: dict[str, dict[str, PairText]]) -> tuple[Corpus, Packed, ViewStats]:
    b = cfg.batching
    corpus = build_corpus(pairs, texts, cfg.languages)
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


def write_shards(cfg: BuildConfig, build_dir: Path, corpus: Corpus, packed: Packed) -> tuple[list[ShardFile], ShardFile]:
    files: list[ShardFile] = []
    for (kind, group), batches in packed.batches.items():
        if batches:
            files += write_group(build_dir, corpus, kind, group, packed.views[(kind, group)], batches,
                                 cfg.batching.batch_size, cfg.batching.rows_per_file)
    schedule = write_schedule(build_dir, hybrid_order(packed.batches, cfg.batching.mono_ratio), files)
    return files, schedule


def _examples(corpus: Corpus, packed: Packed, per_kind: int = 2) -> list[dict[str, str]]:
    """The first row of the first batch of a few groups per kind."""
    out = []
    for kind in ("mono", "cross"):
        groups = [(k, bs) for k, bs in packed.batches.items() if k[0] == kind and bs][:per_kind]
        for key, bs in groups:
            row = rows_table(corpus, packed.views[key], bs[:1]).slice(0, 1).to_pylist()[0]
            out.append({k: row[k] for k in ("batch_id", "query", "query_lang", "passage", "passage_lang",
                                            "passage_title")})
    return out


def _license_info(cfg: BuildConfig) -> dict[str, dict[str, Any]]:
    """Each source's license (the config's, else its card's) and whether it allows commercial use."""
    from mt_aug.release.source_cards import card_for

    out = {}
    for s in cfg.sources:
        card = card_for(s.name, s.dataset) or {}
        lic = s.license or card.get("license") or "unknown"
        commercial = card.get("commercial_use")
        if commercial is None or s.license:
            commercial = not any(t in lic.lower() for t in ("-nc", "non-commercial", "noncommercial", "ms-marco"))
        out[s.name] = {"license": lic, "commercial_use": bool(commercial), "dataset_card": card.get("name"),
                       "url": card.get("url", ""), "citation": (card.get("citation") or "").strip(),
                       "known_overlaps": list(card.get("known_overlaps") or [])}
    return out


def build_manifest(
    cfg: BuildConfig,
    info: BuildInfo,
    ledger: Ledger,
    input_pairs: int,
    kept_pairs: int,
    decon: Decontaminated,
    results: dict[str, LanguageResult],
    vstats: ViewStats,
    corpus: Corpus,
    packed: Packed,
    files: list[ShardFile],
    schedule: ShardFile,
    flow_run_id: str | None,
) -> dict[str, Any]:
    licenses = _license_info(cfg)
    sources = {}
    for s in cfg.sources:
        c = ledger.sources[s.name].to_dict()
        c.update(licenses[s.name])
        c["input"] = f"hf:{s.dataset}:{s.split}" if s.dataset else s.format
        c["files"] = {k: {"path": str(p), "sha256": sha256_file(p)} for k, p in s.input_files()}
        sources[s.name] = c
    eval_sets = {
        es.name: {"format": es.format,
                  "files": {lang: [{"path": str(p), "sha256": sha256_file(p)}
                                   for p in es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)]
                            for lang in sorted(cfg.languages) if es.files(lang)}}
        for es in cfg.eval_sets
    }
    rows = sum(f.rows for f in files)
    batches: dict[str, dict[str, int]] = {"mono": {}, "cross": {}}
    leftovers: dict[str, dict[str, int]] = {"mono": {}, "cross": {}}
    for (kind, group) in packed.views:
        batches[kind][group] = len(packed.batches.get((kind, group), []))
        leftovers[kind][group] = packed.leftover_count((kind, group))
    models = {}
    for lang in cfg.target_languages:
        spec = cfg.translator.for_language(lang)
        models[lang] = {"backend": spec.backend, "model": results[lang].stats["model"], "decoding": spec.decoding()}
    return {
        "format_version": 1,
        "build_id": info.build_id,
        "name": cfg.name,
        "config_hash": info.config_hash,
        "config": cfg.model_dump(mode="json"),
        "code_version": {"version": __version__, "git_commit": git_commit()},
        "flow_run_id": flow_run_id,
        "started_at": info.started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "seed": cfg.seed,
        "languages": cfg.languages,
        "batch_size": cfg.batching.batch_size,
        "mono_ratio": cfg.batching.mono_ratio,
        "mono_mixing": cfg.batching.mono_mixing,
        "rows_per_file": cfg.batching.rows_per_file,
        "columns": list(shard_schema(corpus.has_negatives).names),
        "models": models,
        "sources": sources,
        "decontamination": {
            "eval_sets": eval_sets,
            "source": {SOURCE_LANG: {k: v.to_dict() for k, v in sorted(decon.summary.items())}} if decon.summary else {},
            "target": {lang: {k: v.to_dict() for k, v in sorted(r.target_summary.items())}
                       for lang, r in sorted(results.items()) if r.target_summary},
            "warnings": coverage_warnings(cfg),
        },
        "translation": {lang: r.stats for lang, r in sorted(results.items())},
        "views": {"mono": dict(sorted(vstats.mono.items())), "cross": dict(sorted(vstats.cross.items())),
                  "short": dict(sorted(vstats.short.items()))},
        "batches": batches,
        "leftovers": leftovers,
        "counts": {
            "input_pairs": input_pairs,
            "kept_pairs": kept_pairs,
            "rows": rows,
            "batches": sum(f.batches for f in files),
            "leftover_rows": sum(sum(v.values()) for v in leftovers.values()),
            "views_dropped": sum(len(r.drops) for r in results.values()),
        },
        "drops": {
            "pairs": count_by(ledger.drops, "stage", "reason"),
            "views": count_by([d for r in results.values() for d in r.drops], "lang", "reason"),
        },
        "files": [f.to_dict() for f in files],
        "schedule": {"path": schedule.path, "sha256": schedule.sha256, "steps": schedule.rows},
        "examples": _examples(corpus, packed),
    }


def write_drops(build_dir: Path, ledger: Ledger, results: dict[str, LanguageResult]) -> None:
    """Every drop with its reason and evidence, one JSON object per line (drops.jsonl)."""
    import json

    with open(build_dir / "drops.jsonl", "w", encoding="utf-8") as f:
        for d in ledger.drops + [d for r in results.values() for d in r.drops]:
            f.write(json.dumps(d.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")

