"""`mt-aug plan`: everything a build does before translation, and what translation would cost.

Collect, source-side decontamination and dedup, segmentation, and a look-up of every unique
segment in the translation cache per target language (no model is loaded). The report says
what was read, kept and dropped (with examples per reason), what decontamination removed,
and how many segments and source tokens are left to translate.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from mt_aug.config import BuildConfig
from mt_aug.pipeline.builder import run_source_side, translation_cache_path
from mt_aug.pipeline.executor import LocalExecutor
from mt_aug.release.guard import SourceAccount, check
from mt_aug.schema import SOURCE_LANG, Drop
from mt_aug.translation.cache import CacheScope, TranslationCache
from mt_aug.translation.engine import cache_scope

EXAMPLES_PER_REASON = 5
# Source tokens are estimated, not counted with each model's tokenizer (no model is loaded).
TOKENS_PER_WORD = 1.3
TOKEN_ESTIMATE = f"whitespace words x {TOKENS_PER_WORD}"
LOOKUP_CHUNK = 50_000  # segments per cache look-up


def _examples(drops: list[Drop], source: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in drops:
        if d.source == source and len(out[d.reason]) < EXAMPLES_PER_REASON:
            out[d.reason].append(d.to_dict())
    return dict(sorted(out.items()))


def _cached(cfg: BuildConfig, segments: list[str], scopes: dict[str, CacheScope]) -> dict[str, tuple[int, int]]:
    """Per target language (its cache scope), how many segments are already in the translation
    cache and their whitespace words (an absent cache is not created). Looked up in chunks:
    memory is one chunk's keys, not a set per language of every segment (1.4M segments x 6
    languages); a chunk's words are counted once for every language."""
    path = translation_cache_path(cfg)
    hits, words = dict.fromkeys(scopes, 0), dict.fromkeys(scopes, 0)
    if segments and path.is_file():
        with TranslationCache(path, readonly=True) as cache:  # plan writes nothing, to the cache neither
            for start in range(0, len(segments), LOOKUP_CHUNK):
                chunk = segments[start : start + LOOKUP_CHUNK]
                counts = {s: len(s.split()) for s in chunk}
                for lang, scope in scopes.items():
                    found = cache.present(scope, chunk)
                    hits[lang] += len(found)
                    words[lang] += sum(counts[s] for s in found)
    return {lang: (hits[lang], words[lang]) for lang in scopes}


def _guard_preview(cfg: BuildConfig, side: Any) -> list[str]:
    """What the release guard will say of the sources already (a build of these would fail)."""
    sources = {n: SourceAccount(int(s["read"]), int(s["kept"]), dict(s["dropped"]), s.get("first_error"))
               for n, s in side.sources.items()}
    got = check(sources, {}, rows=1 if side.pairs.num_rows else 0,
                max_malformed_fraction=cfg.guards.max_malformed_fraction)
    return [f"a build will fail: {f}" for f in got.failures] + got.warnings


def _dev_split(side: Any) -> dict[str, int] | None:
    """What the dev split holds out (None: off)."""
    dev = side.dev_pairs
    if dev is None or dev.num_rows == 0:
        return None
    return {"passages": len(set(dev.column("passage_id").to_pylist())), "questions": dev.num_rows}


def _negatives_plan(cfg: BuildConfig, side: Any, scopes: dict[str, CacheScope]) -> dict[str, Any] | None:
    """What translating the first K hard negatives adds (hard_negatives.translate > 0): the
    negatives and their segments, the unique segments that are not already the pairs' own (the
    dev pairs' included: `added`, and per pair), and per target language how many of those the cache holds and what
    is left to translate. Their cost is inside each language's `segments` figures too."""
    neg = side.negatives
    if neg is None:
        return None
    dev = side.dev_segmented.unique() if side.dev_segmented is not None else ()
    added = sorted(neg.unique().difference(side.segmented.unique(), dev))  # as the segment stage counts them
    cached = _cached(cfg, added, scopes)
    words = sum(len(s.split()) for s in added)
    pairs = side.pairs.num_rows
    out: dict[str, Any] = {k: side.negative_stats[k] for k in ("translate", "pairs", "asked", "distinct", "segments",
                                                                 "unique", "added") if k in side.negative_stats}
    out["added_per_pair"] = round(len(added) / pairs, 4) if pairs else 0.0
    out["languages"] = {lang: {"cached": hits, "to_translate": len(added) - hits, "words_to_translate": words - w,
                               "est_source_tokens": round((words - w) * TOKENS_PER_WORD)}
                        for lang, (hits, w) in cached.items()}
    return out


def plan(cfg: BuildConfig) -> dict[str, Any]:
    """Run the stages before translation and report counts and translation work per language.
"""
    t0 = time.monotonic()
    side = run_source_side(cfg, LocalExecutor())  # plan writes nothing: no cache, no stage results
    unique = side.unique
    words = sum(len(s.split()) for s in unique)
    segments: dict[str, dict[str, Any]] = {}
    scopes = {lang: cache_scope(cfg.translator.for_language(lang), SOURCE_LANG, lang) for lang in cfg.target_languages}
    cached = _cached(cfg, unique, scopes)
    for lang in cfg.target_languages:
        hits, hit_words = cached[lang]
        todo_words = words - hit_words
        segments[lang] = {
            "total": side.occurrences,
            "unique": len(unique),
            "cached": hits,
            "to_translate": len(unique) - hits,
            "words_to_translate": todo_words,
            "est_source_tokens": round(todo_words * TOKENS_PER_WORD),
            "model": scopes[lang].model,
        }

    negatives = _negatives_plan(cfg, side, scopes)

    sources: dict[str, dict[str, Any]] = {}
    for s in cfg.sources:
        entry = dict(side.sources[s.name])
        entry.pop("first_error", None)
        entry["format"] = s.format
        entry["examples"] = _examples(side.drops, s.name)
        sources[s.name] = entry
    decontamination = {es.name: {"pairs_dropped": 0, "passages_matched": 0, "questions_matched": 0, "methods": {}}
                       for es in cfg.eval_sets}
    decontamination.update(side.source_summary)

    return {
        "name": cfg.name,
        "languages": cfg.languages,
        "input_pairs": side.input_pairs,
        "kept_pairs": side.pairs.num_rows,
        "sources": sources,
        "unique_passages": len(side.segmented.passages),
        "dev_split": _dev_split(side),
        "segments": segments,
        "estimated_source_tokens": sum(v["est_source_tokens"] for v in segments.values()),
        "token_estimate": TOKEN_ESTIMATE,
        "decontamination": decontamination,
        **({"hard_negatives": negatives} if negatives is not None else {}),
        "warnings": side.warnings + side.notes + _guard_preview(cfg, side),
        "dropped": [d.to_dict() for d in side.drops],
        "stages": side.stages,
        "seconds": round(time.monotonic() - t0, 3),
    }


def summary_text(report: dict[str, Any]) -> str:
    """The report as a person reads it on a terminal."""
    lines = [
        f"plan {report['name']}: {report['input_pairs']} records read from {len(report['sources'])} source(s); "
        f"{report['kept_pairs']} pairs kept on {report['unique_passages']} unique passages"
    ]
    if report.get("dev_split"):
        d = report["dev_split"]
        lines.append(f"dev split: {d['passages']} passages with {d['questions']} questions held out of the shards "
                     "(translated with them)")
    for name, s in report["sources"].items():
        dropped = ", ".join(f"{reason} {n}" for reason, n in s["dropped"].items()) or "none"
        lines.append(f"  {name} ({s['format']}): read {s['read']}, kept {s['kept']}, dropped: {dropped}")
    for name, d in report["decontamination"].items():
        lines.append(f"decontamination {name}: {d['pairs_dropped']} pairs dropped "
                     f"({d['passages_matched']} passages, {d['questions_matched']} questions matched)")
    for lang, seg in report["segments"].items():
        lines.append(f"translate en->{lang}: {seg['total']} segments, {seg['unique']} unique, {seg['cached']} cached, "
                     f"{seg['to_translate']} to translate (~{seg['est_source_tokens']} source tokens, "
                     f"{report['token_estimate']}) with {seg['model']}")
    hn = report.get("hard_negatives")
    if hn is not None:
        lines.append(f"hard negatives (translate {hn.get('translate')}): {hn.get('asked', 0)} negatives of {hn.get('pairs', 0)} "
                     f"pairs ({hn.get('distinct', 0)} distinct), {hn.get('segments', 0)} segments, {hn.get('added', 0)} "
                     f"unique segments added ({hn['added_per_pair']} per pair)")
        for lang, x in hn["languages"].items():
            lines.append(f"  en->{lang}: {x['cached']} of them cached, {x['to_translate']} to translate "
                         f"(~{x['est_source_tokens']} source tokens)")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)
