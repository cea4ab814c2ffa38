"""Translating a text file line by line through the same segmenter, cache and quality
filters as a build. Output has exactly one line per input line."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.quality.gate import Gate, judge_with_roundtrip
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.readers.common import strip_controls
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import ProgressFn, Translator, translate_unique
from mt_aug.translation.segment import join_segments, max_word_chars, split_sentences

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass
class LineStats:
    lines: int = 0
    translated: int = 0  # lines whose every segment was translated by the model in this run
    from_cache: int = 0  # lines served entirely from the cache
    copied: int = 0  # empty lines, or lines with no letters (punctuation, numbers, emoji): copied as they are
    filtered: Counter[str] = field(default_factory=Counter)  # reason -> lines (written as empty lines)
    segments_translated: int = 0
    segments_cached: int = 0
    roundtrip_model: str | None = None  # the reverse model, when the gate ran the round-trip
    back_translated: int = 0  # outputs the reverse model translated in this run (the rest from the cache)
    notes: list[str] = field(default_factory=list)  # what the gate could not do (no reverse model)


def translate_lines(
    lines: list[str],
    *,
    spec: ModelSpec,
    src: str,
    tgt: str,
    cache: TranslationCache,
    qcfg: QualityConfig,
    progress: ProgressFn | None = None,
    verdict_cache: VerdictCache | None = None,
) -> tuple[list[str], list[str | None], LineStats]:
    """Returns (output lines, reason each line was filtered or None, stats). Every segment
    goes through the build's quality gate (with round-trip when `qcfg.roundtrip.enabled`)."""
    stats = LineStats(lines=len(lines))
    # terminal escape sequences (whole: OSC titles and clipboard writes, CSI) and control
    # characters are removed as a build's readers remove them: no residue such as "]0;title"
    # reaches the model, the output file or the terminal
    lines = [strip_controls(line) for line in lines]
    segmented: list[list[str] | None] = []
    cut = [0]
    for line in lines:
        segmented.append(split_sentences(line, lang=src, cut=cut) if _LETTER.search(line) else None)
    if cut[0]:
        stats.notes.append(f"{cut[0]} word(s) longer than {max_word_chars(src)} characters cut into pieces before "
                           "translation (no language has such words)")
    unique = sorted({s for segs in segmented if segs for s in segs})
    translations, tstats = translate_unique(unique, spec=spec, src=src, tgt=tgt, cache=cache, progress=progress)
    stats.segments_translated, stats.segments_cached = tstats.translated, tstats.cached
    gate = Gate(qcfg, src, tgt, (src, tgt))
    own = verdict_cache is None  # default: verdicts.sqlite beside the translation cache
    vcache = VerdictCache.beside(cache.path) if own else verdict_cache
    try:
        judged, gstats = judge_with_roundtrip(gate, unique, [translations[s] for s in unique], spec=spec,
                                              translate=Translator(cache), verdict_cache=vcache)
    finally:
        if own and vcache is not None:
            vcache.close()
    stats.roundtrip_model, stats.back_translated = gstats.roundtrip_model, gstats.back_translated
    stats.notes += gstats.notes
    verdicts = {s: v.reason for s, v in zip(unique, judged, strict=True)}
    out: list[str] = []
    reasons: list[str | None] = []
    for line, segs in zip(lines, segmented, strict=True):
        if segs is None:
            out.append(line.strip("\r\n"))
            reasons.append(None)
            stats.copied += 1
            continue
        bad = None
        for s in segs:
            if verdicts[s] is not None:
                bad = verdicts[s]
                break
        if bad is not None:
            out.append("")
            reasons.append(bad)
            stats.filtered[bad] += 1
            continue
        out.append(join_segments([translations[s].text for s in segs], tgt).replace("\n", " "))
        reasons.append(None)
        if any(s in tstats.fresh for s in segs):
            stats.translated += 1
        else:
            stats.from_cache += 1
    return out, reasons, stats
