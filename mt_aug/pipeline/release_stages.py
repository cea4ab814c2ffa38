"""The last two stages: `pack` (views and batches) and `write` (shards, drops, manifest, card,
the release guard and verify, into a staging directory).

Both run every build (`cache = "none"`): their inputs come from the translate and quality
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
from typing import Any

import pyarrow as pa

from mt_aug import progress as mt_progress
from mt_aug.config import BuildConfig
from mt_aug.pipeline.stage import Stage, StageResult
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.texts import english_texts

log = logging.getLogger("mt_aug.pipeline")

FAILED_PREFIX = ".failed-"  # builds/.failed-<id>: a build the guard refused, kept for inspection


class PackStage(Stage):
    """Assign every pair's views (mono per language, cross per language pair) from the seed and
    pack them into batches of exactly `batch_size` rows under the batch invariants, at the
    configured mono ratio. Inputs: the pairs and one `texts-<lang>` table per target language."""

    name = "pack"
    version = "1"
    outputs = ("corpus", "packed", "view_stats")
    libraries = ("numpy", "pyarrow")
    cache = "none"  # downstream of translation (the translation cache is in no key); cheap

    def __init__(self, target_languages: list[str]) -> None:
        self.langs = list(target_languages)
        self.inputs = ("pairs", *(f"texts-{lang}" for lang in self.langs))  # type: ignore[misc]

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"batching": cfg.batching.model_dump(mode="json"), "seed": cfg.seed, "languages": cfg.languages}

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        from mt_aug.packing.assemble import views_and_batches

        pairs: pa.Table = inputs["pairs"]
        texts = {lang: inputs[f"texts-{lang}"] for lang in self.langs}
        english = english_texts(pairs)
        if texts and all("hard_negatives" in t.column_names for t in texts.values()):
            english = english.append_column("hard_negatives", pairs.column("hard_negatives"))  # every one, English
        texts = {SOURCE_LANG: english} | texts
        corpus, packed, vstats = views_and_batches(cfg, pairs, texts)
        stats = {"views": {"mono": dict(sorted(vstats.mono.items())), "cross": dict(sorted(vstats.cross.items()))},
                 "batches": {f"{kind}/{group}": len(b) for (kind, group), b in sorted(packed.batches.items())},
                 "trimmed": sum(packed.trimmed.values())}
        return StageResult({"corpus": corpus, "packed": packed, "view_stats": vstats}, stats)


class WriteStage(Stage):
    """Write the build into a staging directory: shards (Arrow IPC streams), `drops.jsonl`, the
    manifest and the card; the release guard decides whether it may be published. A refused
    build is kept for inspection as `builds/.failed-<id>` (its manifest says why) and the stage
    raises `GuardFailed`; any other failure removes the staging directory. `current` is never
    touched here.

    Input `record`: what the pipeline merged from every earlier stage's result (a
    `BuildRecord`); its `stages` has this stage's own entry (key), whose `seconds` this stage
    fills in just before the manifest is written."""

    name = "write"
    version = "1"
    inputs = ("corpus", "packed", "view_stats", "record")
    outputs = ("staged",)
    libraries = ("pyarrow", "pyyaml", "mt-aug-schema")
    cache = "none"  # it writes files

    def __init__(self, info: Any, run_id: str | None = None) -> None:
        self.info, self.run_id = info, run_id  # BuildInfo (build id, start time, config hash)

    def config_section(self, cfg: BuildConfig) -> Any:
        return cfg.content_hash()  # the manifest and the card state the whole config

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        from mt_aug.packing import assemble
        from mt_aug.release.card import write_card
        from mt_aug.release.guard import GuardFailed, check_manifest
        from mt_aug.release.manifest import build_manifest, path_scrubber
        from mt_aug.release.publish import staged, write_json
        from mt_aug.release.verify import verify_build

        t0 = time.monotonic()
        corpus, packed, record = inputs["corpus"], inputs["packed"], inputs["record"]
        info = self.info
        with staged(cfg.output_dir, info.build_id) as build_dir, \
                mt_progress.task("write shards", total=sum(len(b) for b in packed.batches.values()),
                                 unit="batches") as bar:
            files, schedule = assemble.write_shards(cfg, build_dir, corpus, packed, on_group=bar.advance)
            # published: paths quoted in drop evidence (a malformed record's file) as the manifest shows them
            drops_sha = write_drops(build_dir, record.pair_drops + record.view_drops + record.negative_drops,
                                    path_scrubber(cfg, info.config_dir))
            own = {**record.stages[self.name], "seconds": round(time.monotonic() - t0, 3)}
            record = dataclasses.replace(record, stages={**record.stages, self.name: own})
            manifest = build_manifest(cfg, info, record, inputs["view_stats"], corpus, packed, files, schedule,
                                      {"drops.jsonl": drops_sha}, self.run_id)
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
        return StageResult({"staged": build_dir},
                           {"files": len(files), "rows": manifest["counts"]["rows"],
                            "batches": manifest["counts"]["batches"]},
                           warnings=tuple(f"guard: {w}" for w in verdict.warnings))


def write_drops(build_dir: Path, drops: list[Drop], scrub: Any = None) -> str:
    """Every drop with its reason and evidence, one JSON object per line (drops.jsonl); its sha256.
    `scrub`: applied to each record (mt_aug.release.manifest.path_scrubber: no local paths)."""
    from mt_aug.packing.shards import named

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
