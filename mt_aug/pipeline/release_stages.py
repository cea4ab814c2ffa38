"""The last stages: `dev` (the dev split's files), `pack` (views and batches) and `write`
(shards, drops, manifest, card, the release guard and verify, into a staging directory).

They run every build (`cache = "none"`): their inputs come from the translate and quality
stages, whose outputs depend on the translation cache's contents, which no key covers; and
they are cheap next to translation. Publishing the staged build (`finalize`, `current`,
pruning) is the pipeline's own last step (mt_aug.pipeline.builder.build), after the manifest
that lists every stage is sealed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, TypedDict

import pyarrow as pa

from mt_aug import progress as mt_progress
from mt_aug.config import BuildConfig
from mt_aug.core.files import named
from mt_aug.devsplit.files import SPAN_FORMATS, DevSplit, build_dev, sha256_bytes
from mt_aug.devsplit.judge import DevLanguage, english
from mt_aug.packing import assemble
from mt_aug.packing.assemble import views_and_batches
from mt_aug.packing.batching import Packed
from mt_aug.packing.corpus import Corpus
from mt_aug.packing.views import ViewStats
from mt_aug.pipeline.stage import Stage, StageContext, StageResult
from mt_aug.release.card import write_card
from mt_aug.release.guard import GuardFailed, check_manifest
from mt_aug.release.manifest import BuildRecord, build_manifest, path_scrubber
from mt_aug.release.publish import staged, write_json
from mt_aug.release.verify import verify_build
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.texts import Segmented, english_texts

log = logging.getLogger("mt_aug.pipeline")

FAILED_PREFIX = ".failed-"  # builds/.failed-<id>: a build the guard refused, kept for inspection


class PackIn(TypedDict):
    pairs: pa.Table
    texts: dict[str, pa.Table]  # per target language: its `texts-<lang>` (TEXTS_SCHEMA, aligned with the pairs)


class PackOut(TypedDict):
    corpus: Corpus
    packed: Packed
    view_stats: ViewStats


class PackStage(Stage[PackIn, PackOut]):
    """Assign every pair's views (mono per language, cross per language pair) from the seed and
    pack them into batches of exactly `batch_size` rows under the batch invariants, at the
    configured mono ratio. Inputs: the pairs and one `texts-<lang>` table per target language
    (the constructor's languages shape its inputs)."""

    name = "pack"
    version = "1"
    libraries = ("numpy", "pyarrow")
    cache = "none"  # downstream of translation (the translation cache is in no key); cheap

    def __init__(self, target_languages: list[str]) -> None:
        self.langs = list(target_languages)
        self.inputs = ("pairs", *(f"texts-{lang}" for lang in self.langs))  # type: ignore[misc]

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"batching": cfg.batching.model_dump(mode="json"), "seed": cfg.seed, "languages": cfg.languages}

    def bind(self, named: Any) -> PackIn:
        return PackIn(pairs=named["pairs"], texts={lang: named[f"texts-{lang}"] for lang in self.langs})

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: PackIn) -> StageResult[PackOut]:
        pairs = inputs["pairs"]
        texts = inputs["texts"]
        english = english_texts(pairs)
        if texts and all("hard_negatives" in t.column_names for t in texts.values()):
            english = english.append_column("hard_negatives", pairs.column("hard_negatives"))  # every one, English
        texts = {SOURCE_LANG: english} | texts
        corpus, packed, vstats = views_and_batches(cfg, pairs, texts)
        stats = {"views": {"mono": dict(sorted(vstats.mono.items())), "cross": dict(sorted(vstats.cross.items()))},
                 "batches": {f"{kind}/{group}": len(b) for (kind, group), b in sorted(packed.batches.items())},
                 "trimmed": sum(packed.trimmed.values())}
        return StageResult(PackOut(corpus=corpus, packed=packed, view_stats=vstats), stats)


class DevIn(TypedDict):
    dev_pairs: pa.Table
    dev_segmented: Segmented
    languages: dict[str, DevLanguage]  # per target language: its `dev-<lang>` (with dev pairs, never None)


class DevOut(TypedDict):
    dev: DevSplit


class DevStage(Stage[DevIn, DevOut]):
    """The dev split's files (mt_aug.devsplit.files) from the held-out pairs in every language:
    LAReQA JSON (span sources) and the BEIR layout, with what each language lost. Off: nothing.
    Inputs: the dev pairs, their segments and one `dev-<lang>` per target language."""

    name = "dev"
    version = "1"
    cache = "none"  # downstream of translation, like pack

    def __init__(self, target_languages: list[str]) -> None:
        self.langs = list(target_languages)
        self.inputs = ("dev_pairs", "dev_segmented", *(f"dev-{lang}" for lang in self.langs))  # type: ignore[misc]

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"dev_split": cfg.dev_split.model_dump(mode="json"), "seed": cfg.seed, "languages": cfg.languages,
                "span_sources": sorted(span_sources(cfg))}

    def bind(self, named: Any) -> DevIn:
        return DevIn(dev_pairs=named["dev_pairs"], dev_segmented=named["dev_segmented"],
                     languages={lang: named[f"dev-{lang}"] for lang in self.langs})

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: DevIn) -> StageResult[DevOut]:
        pairs = inputs["dev_pairs"]
        if not cfg.dev_split.enabled or pairs.num_rows == 0:
            return StageResult(DevOut(dev=DevSplit()))
        per_lang = {SOURCE_LANG: english(pairs, inputs["dev_segmented"])}
        per_lang |= inputs["languages"]
        dev = build_dev(cfg.languages, span_sources(cfg), pairs, inputs["dev_segmented"], per_lang, cfg.seed)
        stats = {lang: {k: v for k, v in s.items() if k in ("passages", "questions")}
                 for lang, s in dev.summary["languages"].items()}
        return StageResult(DevOut(dev=dev), stats, warnings=tuple(dev.warnings))


def span_sources(cfg: BuildConfig) -> set[str]:
    """The sources whose answers are character spans in their passages (SQuAD format)."""
    return {s.name for s in cfg.sources if s.format in SPAN_FORMATS}


class WriteIn(TypedDict):
    corpus: Corpus
    packed: Packed
    view_stats: ViewStats
    record: BuildRecord  # what the pipeline merged from every earlier stage's result
    dev: DevSplit


class WriteOut(TypedDict):
    staged: Path  # the staging directory, complete and verified


class WriteStage(Stage[WriteIn, WriteOut]):
    """Write the build into a staging directory: shards (Arrow IPC streams), `drops.jsonl`, the
    manifest and the card; the release guard decides whether it may be published. A refused
    build is kept for inspection as `builds/.failed-<id>` (its manifest says why) and the stage
    raises `GuardFailed`; any other failure removes the staging directory. `current` is never
    touched here. The build it writes (id, start time) and the run id are the context's
    (`ctx.build`, `ctx.run_id`).

    Input `record`: what the pipeline merged from every earlier stage's result (a
    `BuildRecord`); its `stages` has this stage's own entry (key), whose `seconds` this stage
    fills in just before the manifest is written."""

    name = "write"
    version = "1"
    libraries = ("pyarrow", "pyyaml", "mt-aug-schema")
    cache = "none"  # it writes files

    def config_section(self, cfg: BuildConfig) -> Any:
        return cfg.content_hash()  # the manifest and the card state the whole config

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: WriteIn) -> StageResult[WriteOut]:
        t0 = time.monotonic()
        corpus, packed, record = inputs["corpus"], inputs["packed"], inputs["record"]
        info = ctx.build
        if info is None:
            raise RuntimeError("the write stage needs the build it writes (StageContext.build): build() sets it")
        with staged(cfg.output_dir, info.build_id) as build_dir, \
                mt_progress.task("write shards", total=sum(len(b) for b in packed.batches.values()),
                                 unit="batches") as bar:
            files, schedule = assemble.write_shards(cfg, build_dir, corpus, packed, on_group=bar.advance)
            dev = inputs["dev"]
            dev_sha = write_dev(build_dir, dev)
            # published: paths quoted in drop evidence (a malformed record's file) as the manifest shows them
            drops = record.pair_drops + record.view_drops + record.negative_drops + dev.drops
            drops_sha = write_drops(build_dir, drops, path_scrubber(cfg, info.config_dir))
            own = {**record.stages[self.name], "seconds": round(time.monotonic() - t0, 3)}
            record = dataclasses.replace(record, stages={**record.stages, self.name: own})
            manifest = build_manifest(cfg, info, record, inputs["view_stats"], corpus, packed, files, schedule,
                                      {"drops.jsonl": drops_sha, **dev_sha}, ctx.run_id)
            if dev.enabled:
                manifest["dev"] = {**dev.summary, "files": [{"path": p, "sha256": h} for p, h in dev_sha.items()]}
            verdict = check_manifest(manifest, cfg.guards)
            manifest["guard"] = {"warnings": list(verdict.warnings), "failures": list(verdict.failures)}
            write_card(build_dir, manifest)
            os.sync()  # shards and card on disk before the manifest that declares them
            write_json(build_dir / "manifest.json", manifest)  # last: its presence means the build is complete
            if verdict.failures:
                for w in verdict.warnings:  # a result's warnings are logged by the pipeline: this one raises
                    log.warning("write: guard: %s", w)
                failed = build_dir.with_name(f"{FAILED_PREFIX}{info.build_id}")
                os.replace(build_dir, failed)
                raise GuardFailed([f"{f} (report: {failed})" if i == 0 else f
                                   for i, f in enumerate(verdict.failures)])
            verify_build(build_dir)
        return StageResult(WriteOut(staged=build_dir),
                           {"files": len(files), "rows": manifest["counts"]["rows"],
                            "batches": manifest["counts"]["batches"]},
                           warnings=tuple(f"guard: {w}" for w in verdict.warnings))


def write_dev(build_dir: Path, dev: DevSplit) -> dict[str, str]:
    """The dev split's files (a `DevSplit`) under build_dir; their sha256 by relative path."""
    out = {}
    for rel, data in sorted(dev.files.items()):
        path = build_dir / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise named(exc, path) from None
        out[rel] = sha256_bytes(data)
    return out


def write_drops(build_dir: Path, drops: list[Drop], scrub: Any = None) -> str:
    """Every drop with its reason and evidence, one JSON object per line (drops.jsonl); its sha256.
    `scrub`: applied to each record (mt_aug.release.manifest.path_scrubber: no local paths)."""
    h = hashlib.sha256()
    path = build_dir / "drops.jsonl"
    try:
        with open(path, "wb") as f:
            for d in drops:
                rec = d.to_dict() if scrub is None else scrub(d.to_dict())
                line = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
                h.update(line)
                f.write(line)
    except OSError as exc:
        raise named(exc, path) from None
    return h.hexdigest()
