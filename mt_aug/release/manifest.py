"""The build manifest: every figure a build states about itself, from the statistics the
pipeline merged. It is published: no absolute paths, no host name, no credentials (paths inside
the config file's folder are relative to it; any other is a file name with its sha256)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mt_aug import __version__
from mt_aug.accounting import count_by
from mt_aug.buildfiles import read_manifest  # noqa: F401 (re-exported: every reader's manifest)
from mt_aug.config import BuildConfig
from mt_aug.core.fingerprint import content_sha256
from mt_aug.packing.batching import Packed
from mt_aug.packing.corpus import Corpus
from mt_aug.packing.shards import ShardFile, rows_table, shard_schema
from mt_aug.packing.views import ViewStats
from mt_aug.redact import redact_text
from mt_aug.release.source_cards import card_for
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.segment import MAX_WORD_CHARS

# 2: `checksums` of drops.jsonl and other files; 3: each shard file is one Arrow record batch
# (training batch i of a file is rows i * batch_size .. + batch_size; before 3, one record
# batch per training batch). Readers here go by rows and read every version. 4: every file
# entry and the schedule's carry the file's `bytes` (readers check sizes first), and the card's
# `configs:` name each config's files exactly (no glob a stray file in the folder would match).
# 5: with batching.group_by [source], file entries name their `source`, the schedule has a
# `source` column and `source_batches` counts batches and leftovers per source; with hard
# negatives, `hard_negatives` counts them per language (readers of 4 read 5: nothing else moved).
FORMAT_VERSION = 5


@dataclass(frozen=True)
class BuildInfo:
    build_id: str
    started_at: str
    config_hash: str
    config_dir: Path | None = None  # where the config file lives: published paths are relative to it


def start_build(cfg: BuildConfig, config_dir: Path | None = None) -> BuildInfo:
    now = time.gmtime()
    h = cfg.content_hash()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", now)
    build_id, n = f"{stamp}-{h[:8]}", 1
    while (cfg.output_dir / "builds" / build_id).exists():  # two builds within one second
        n += 1
        build_id = f"{stamp}-{h[:8]}-{n}"
    return BuildInfo(build_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", now), h, config_dir)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass
class BuildRecord:
    """What the pipeline gathered from the stages, for the manifest."""

    sources: dict[str, dict[str, Any]]  # name -> {read, kept, dropped{reason: n}}
    pair_drops: list[Drop]  # collect, decontaminate, dedup
    source_summary: dict[str, Any]  # eval set -> what source-side decontamination removed
    languages: dict[str, dict[str, Any]]  # target language -> translation stats
    view_drops: list[Drop]
    target_summary: dict[str, dict[str, Any]]  # lang -> eval set -> summary
    warnings: list[str]
    input_pairs: int
    kept_pairs: int
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> {key, reused, seconds}
    words_cut: int = 0  # source words too long for a model, cut into pieces (mt_aug.translation.segment)
    negatives: dict[str, Any] | None = None  # the manifest's hard_negatives (where a source has them, or K > 0)
    negative_drops: list[Drop] = field(default_factory=list)  # hard negatives removed (stage hard-negatives)


def publishable(value: Any, base: Path | None) -> Any:
    """`value` as it may be published: credentials in URLs removed (mt_aug.redact), absolute
    paths inside `base` (the config's folder) made relative to it, and any other absolute path
    (outside the config's folder, or with no base) reduced to its file name: a published
    manifest says nothing of the machine or of folders beside the config (`../../alice/...`);
    the file's sha256 beside it identifies it."""
    if isinstance(value, dict):
        return {k: publishable(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [publishable(v, base) for v in value]
    if isinstance(value, str):
        value = redact_text(value)
        if value.startswith("/"):
            if base is not None and os.path.commonpath([value, str(base)]) == str(base):
                return os.path.relpath(value, base)
            return Path(value).name
    return value


def path_scrubber(cfg: BuildConfig, base: Path | None) -> Callable[[Any], Any]:
    """A function that rewrites, inside every string of a value, each absolute path the build
    knows (its sources' and eval sets' files, the config's, output and cache folders) as
    `publishable` publishes it, and redacts URL credentials: for texts that quote a path, such
    as a malformed record's error (`/home/alice/nq.json: line 3: ...`) in the manifest and in
    drops.jsonl."""
    known = {str(p) for s in cfg.sources for _, p in s.input_files()}
    known |= {str(p) for es in cfg.eval_sets for lang in cfg.languages
              for p in es.files(lang) + es.qrels_files(lang) + es.corpus_files(lang)}
    known |= {str(cfg.output_dir), str(cfg.cache_dir)} | ({str(base)} if base is not None else set())
    swaps = sorted(((p, publishable(p, base)) for p in known if p.startswith("/")), key=lambda x: -len(x[0]))

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            if "/" in value:
                for full, shown in swaps:
                    if full in value:
                        value = value.replace(full, shown)
            return redact_text(value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return scrub


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


def source_batches(packed: Packed, names: list[str]) -> dict[str, dict[str, Any]]:
    """group_by: [source]: per source (`names`: the config's) its mono and cross batches, its
    leftover rows and its share of each kind's batches (what the schedule draws it at)."""
    counts = {name: {"mono": 0, "cross": 0, "leftover_rows": 0} for name in names} | packed.source_counts()
    totals = {k: sum(c[k] for c in counts.values()) for k in ("mono", "cross")}
    return {name: {**c, "share": {k: round(c[k] / totals[k], 6) if totals[k] else 0.0 for k in ("mono", "cross")}}
            for name, c in counts.items()}


def license_info(cfg: BuildConfig) -> dict[str, dict[str, Any]]:
    """Each source's license (the config's, else its card's) and whether it allows commercial use."""
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


def _file_entry(path: Path, base: Path | None) -> dict[str, str]:
    # the digest the stage keys were computed from (mt_aug.core.fingerprint: once per process and file state)
    return {"path": publishable(str(path), base), "sha256": content_sha256(path)}


def build_manifest(cfg: BuildConfig, info: BuildInfo, record: BuildRecord, vstats: ViewStats, corpus: Corpus,
                   packed: Packed, files: list[ShardFile], schedule: ShardFile,
                   checksums: dict[str, str], run_id: str | None = None) -> dict[str, Any]:
    base = info.config_dir
    licenses = license_info(cfg)
    sources = {}
    for s in cfg.sources:
        c = dict(record.sources[s.name])
        c.update(licenses[s.name])
        c["input"] = f"hf:{s.dataset}:{s.split}" if s.dataset else s.format
        c["files"] = {k: _file_entry(p, base) for k, p in s.input_files()}
        sources[s.name] = c
    eval_sets = {
        es.name: {"format": es.format,
                  "files": {lang: [_file_entry(p, base) for p in es.files(lang) + es.qrels_files(lang)
                                   + es.corpus_files(lang)]
                            for lang in sorted(cfg.languages) if es.files(lang)}}
        for es in cfg.eval_sets
    }
    batches: dict[str, dict[str, int]] = {"mono": {}, "cross": {}}
    leftovers: dict[str, dict[str, int]] = {"mono": {}, "cross": {}}
    for (kind, group) in packed.views:
        batches[kind][group] = len(packed.batches.get((kind, group), []))
        leftovers[kind][group] = packed.leftover_count((kind, group))
    models = {}
    for lang in cfg.target_languages:
        spec = cfg.translator.for_language(lang)
        models[lang] = {"backend": spec.backend, "model": record.languages[lang]["model"], "decoding": spec.decoding()}
    config = publishable(cfg.model_dump(mode="json"), base)
    return path_scrubber(cfg, base)({
        "format_version": FORMAT_VERSION,
        "build_id": info.build_id,
        "name": cfg.name,
        # the hash of the published config (what `verify` recomputes); paths relative to the config
        "config_hash": hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(),
        "config": config,
        "code_version": {"version": __version__, "git_commit": git_commit()},
        "flow_run_id": run_id,
        "started_at": info.started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
            "source": {SOURCE_LANG: record.source_summary} if record.source_summary else {},
            "target": {lang: s for lang, s in sorted(record.target_summary.items()) if s},
            "warnings": list(record.warnings),
        },
        "translation": {lang: record.languages[lang] for lang in sorted(record.languages)},
        "views": {"mono": dict(sorted(vstats.mono.items())), "cross": dict(sorted(vstats.cross.items())),
                  "short": dict(sorted(vstats.short.items()))},
        "batches": batches,
        "leftovers": leftovers,
        "counts": {
            "input_pairs": record.input_pairs,
            "kept_pairs": record.kept_pairs,
            "rows": sum(f.rows for f in files),
            "batches": sum(f.batches for f in files),
            "leftover_rows": sum(sum(v.values()) for v in leftovers.values()),
            "views_dropped": len(record.view_drops),
        },
        "drops": {
            "pairs": count_by(record.pair_drops, "stage", "reason"),
            "views": count_by(record.view_drops, "lang", "reason"),
        },
        "stages": record.stages,
        "files": [f.to_dict() for f in files],
        "schedule": schedule.schedule_dict(),
        "checksums": dict(sorted(checksums.items())),
        "examples": _examples(corpus, packed),
        **({"source_batches": source_batches(packed, [s.name for s in cfg.sources])}
           if packed.sources is not None else {}),
        **({"hard_negatives": record.negatives} if record.negatives is not None else {}),
        # only when it happened (no key otherwise: the manifests of ordinary builds are unchanged)
        **({"segmentation": {"words_cut": record.words_cut, "max_word_chars": MAX_WORD_CHARS}}
           if record.words_cut else {}),
    })
