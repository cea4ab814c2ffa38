"""The quality gate: every signal on a list of unique segments, the first one that fires is the
verdict's reason. Built once per (config, source language, target language, candidates).

    gate = Gate(cfg.quality, "en", "pt", ("en", "pt"))
    verdicts = gate.judge(sources, outputs)                 # no round-trip
    verdicts, stats = judge_with_roundtrip(gate, sources, outputs, spec=spec, translate=Translator(cache))

Every model call of the gate goes through what it is given: back-translations and name
look-ups through `translate` (in a build, the stage context's: the executor's workers and the
translation cache), the QE model's scoring as work units on `units` (its workers).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mt_aug import languages
from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.core.executor import UnitRunner
from mt_aug.core.versions import library_version
from mt_aug.quality import basic, entities, garbled, langid, numbers, roundtrip
from mt_aug.quality.lexicon import Lexicon, knows_language, model_lexicon
from mt_aug.quality.qe import qe_identity, qe_scores
from mt_aug.quality.text import present, word_pool
from mt_aug.quality.verdict import Verdict
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.translation.base import Translation
from mt_aug.translation.engine import TranslateFn, model_identity

# Bump when a signal changes what it decides: cached verdicts of other versions are not reused.
GATE_VERSION = "6"

# Distributions whose versions can change a verdict: part of the verdict cache's key, as the
# stage contract keys stage results (mt_aug.core.versions.library_version).
GATE_LIBRARIES = ("lingua-language-detector", "sacrebleu", "sentencepiece", "wordfreq")

# Every reason the gate gives, in the order the signals run (the first that fires is the reason).
REASONS = ("empty output", "hit length limit", "degenerate repetition", "length ratio", "untranslated",
           "wrong language", "number changed", "number lost", "entity lost", "name changed", "added content",
           "content lost", "word lost", "garbled", "round-trip", "quality estimate")


class Gate:
    def __init__(self, cfg: QualityConfig, src: str, tgt: str, candidates: Sequence[str],
                 reverse_model: str | None = None, forward_model: str | None = None,
                 lexicon: Lexicon | None = None, qe_model: str | None = None) -> None:
        """`reverse_model`, `forward_model`: the identities of the models that translate back
        (round-trip) and translate names alone (entities) or ship the lexicon: part of the
        verdicts' key. `lexicon`: the forward model's bilingual lexicon, for the word-lost
        signal (`model_lexicon`; without one the signal does not run). `qe_model`: the identity
        of the quality-estimation model (`quality.qe`; mt_aug.quality.qe), with its weights' hash."""
        self.cfg, self.src, self.tgt = cfg, src, tgt
        self.candidates = tuple(sorted(set(candidates) | {src, tgt}))
        self.reverse_model, self.forward_model, self.qe_model = reverse_model, forward_model, qe_model
        self.lexicon = lexicon if cfg.coverage or cfg.added_content else None

        blob = json.dumps({"version": GATE_VERSION, "cfg": cfg.model_dump(mode="json"), "src": src, "tgt": tgt,
                           "candidates": self.candidates, "reverse": reverse_model, "forward": forward_model,
                           "lexicon": self.lexicon is not None, "qe": qe_model,
                           "libraries": {d: library_version(d) for d in GATE_LIBRARIES}}, sort_keys=True)
        self.settings_hash = hashlib.sha256(blob.encode()).hexdigest()[:24]

    @property
    def roundtrip_threshold(self) -> float:
        return self.cfg.roundtrip_threshold(self.tgt)

    @property
    def latin(self) -> bool:
        return languages.get(self.tgt).script == "Latn" if self.tgt in languages.LANGUAGES else True

    def wants_spans(self) -> bool:
        """The entity signal looks names up translated alone (Latin-script targets)."""
        return self.cfg.entities and self.cfg.entities_translate and self.latin

    def name_spans(self, sources: Sequence[str], outputs: Sequence[Translation]) -> list[str]:
        """The source name spans to translate alone for `judge(spans=...)`, of the pairs that
        pass the structural signals."""
        if not self.wants_spans():
            return []
        out: set[str] = set()
        for s, o in zip(sources, outputs, strict=True):
            if self.structural(s, o) is None:
                out.update(entities.spans_to_translate(s, o.text.strip()))
                if self.cfg.entities_lowercase:
                    out.update(entities.lowercase_spans(s, self.tgt, self.cfg.entities_lowercase_min_zipf))
                if self.cfg.added_content and self.lexicon is not None \
                        and entities.unaccounted_runs(s, o.text.strip(), None, self.lexicon, self.tgt):
                    # runs of the output no source word accounts for: are they the source's names, translated?
                    pool = word_pool(o.text.strip())
                    out.update(n.span for n in entities.names_and_first(s) if not all(present(w, pool) for w in n.words))
        return sorted(out)

    def wants_roundtrip(self, source: str) -> bool:
        return self.cfg.roundtrip and roundtrip.in_sample(source, self.cfg.roundtrip_sample)

    def judge(self, sources: Sequence[str], outputs: Sequence[Translation],
              back: Sequence[str | None] | None = None, spans: Mapping[str, str] | None = None,
              qe: Sequence[float | None] | None = None) -> list[Verdict]:
        """One verdict per (source, output); `back`: the back-translation of each output (None
        where there is none: the round-trip signal then does not run for it); `spans`: the
        source's names translated alone (`name_spans`), for the entity signal; `qe`: the
        quality-estimation score of each (None: not scored)."""
        if len(sources) != len(outputs) or any(x is not None and len(x) != len(sources) for x in (back, qe)):
            raise ValueError("judge: sources, outputs (and back, qe) differ in length")
        return [self.judge_one(s, o, back[i] if back is not None else None, spans, qe[i] if qe is not None else None)
                for i, (s, o) in enumerate(zip(sources, outputs, strict=True))]

    def structural(self, source: str, out: Translation) -> str | None:
        """The cheap signals alone (empty, length limit, repetition, length ratio)."""
        cfg, text = self.cfg, out.text.strip()
        if basic.is_empty(source, text):
            return "empty output"
        if cfg.length_limit and out.hit_length_limit:
            return "hit length limit"
        if cfg.repetition and basic.repeat_fraction(text, self.tgt) > cfg.max_repeat_fraction:
            return "degenerate repetition"
        if cfg.length_ratio and len(source) >= 10:
            lo, hi = cfg.length_ratio_band(self.tgt)
            if not lo <= basic.length_ratio(source, text) <= hi:
                return "length ratio"
        return None

    def judge_one(self, source: str, out: Translation, back: str | None = None,
                  spans: Mapping[str, str] | None = None, qe: float | None = None) -> Verdict:
        cfg, text = self.cfg, out.text.strip()
        failed: list[str] = []
        scores: dict[str, float] = {}
        evidence: list[str] = []
        first = self.structural(source, out)
        if first is not None:
            return Verdict(first, (first,), {"length_ratio": round(basic.length_ratio(source, text), 3)})
        scores["length_ratio"] = round(basic.length_ratio(source, text), 3)
        if cfg.untranslated:
            share = langid.copy_share(source, text)
            scores["copy"] = round(share, 3)
            if share >= cfg.untranslated_min_copy and langid.content_words(source) >= cfg.untranslated_min_words:
                failed.append("untranslated")
        if cfg.langid and len(self.candidates) > 1 and "untranslated" not in failed:
            rest = langid.without_copied(source, text)
            if sum(c.isalpha() for c in rest) >= cfg.langid_min_chars:
                conf, top = langid.language_confidence(rest, self.tgt, self.candidates)
                scores["langid"] = round(conf, 3)
                if conf < cfg.langid_min_confidence and top != self.tgt:
                    failed.append(f"wrong language ({top})")
        if cfg.numbers:
            nc = numbers.check_numbers(source, text, self.src, self.tgt)
            r = nc.reason
            if r == "number lost" and not cfg.numbers_lost:
                r = None
            if r is not None:
                failed.append(r)
                evidence.append(f"numbers missing {list(nc.missing)} changed {list(nc.changed)}")
        if cfg.entities:
            # names are matched by spelling and capitals: for a target in another script only
            # a back-translation can tell a transliterated name from a lost one
            latin = self.latin
            named = spans if self.wants_spans() else None
            lost = [n for n in entities.lost_names(source, text, back, named, self.tgt, cfg.entities_translated_min_share)
                    if len(n.words) >= cfg.entities_min_words] if latin or back is not None else []
            lost_nl = entities.lost_non_latin(source, text) if latin else []
            lowered = entities.lost_lowercase(source, text, named, self.tgt, cfg.entities_lowercase_min_zipf) \
                if named is not None and cfg.entities_lowercase else []
            if len(lost) + len(lost_nl) + len(lowered) > cfg.entities_max_lost:
                failed.append("entity lost")
                evidence.append(f"lost {[n.text for n in lost] + lost_nl + lowered}")
            changed = entities.changed_names(source, text) if latin and cfg.entities_accents else []
            if changed:
                failed.append("name changed")
                evidence.append(f"changed {[f'{a} -> {b}' for a, b in changed]}")
        if cfg.added_content and self.latin and self.lexicon is not None:
            added = entities.added_names(source, text, spans if self.wants_spans() else None, self.lexicon, self.tgt)
            if added:
                failed.append("added content")
                evidence.append(f"added {added}")
        if cfg.length_loss and len(source) >= cfg.length_loss_min_chars:
            if scores["length_ratio"] < cfg.length_loss_threshold(self.tgt):
                failed.append("content lost")
        if self.lexicon is not None and cfg.coverage:
            gone = self.lexicon.lost_words(source, text, self.src, cfg.coverage_max_zipf)
            if len(gone) > cfg.coverage_max_lost:
                failed.append("word lost")
                evidence.append(f"no translation of {gone}")
        if cfg.garbled and languages.is_spaced(self.tgt):
            phrase = garbled.repeated_phrase(source, text)
            odd = garbled.unknown_words(source, text, self.tgt, cfg.garbled_max_similarity) \
                if garbled.checks_words(self.tgt) else []
            if phrase is not None or odd:
                failed.append("garbled")
                evidence.append(f"repeated {phrase!r}" if phrase is not None else f"unknown words {odd}")
        if back is not None and cfg.roundtrip:
            score = roundtrip.chrf(back, source)
            scores["chrf"] = round(score, 2)
            if score < self.roundtrip_threshold:
                failed.append("round-trip")
        if cfg.qe is not None and qe is not None:
            scores["qe"] = round(qe, 4)
            if qe < cfg.qe.threshold:
                failed.append("quality estimate")
        return Verdict(failed[0] if failed else None, tuple(failed), scores, "; ".join(evidence))


@dataclass
class GateStats:
    judged: int = 0
    cached: int = 0  # verdicts read from the verdict cache
    back_translated: int = 0  # outputs sent to the reverse model (cache misses)
    back_cached: int = 0  # back-translations read from the translation cache
    spans_translated: int = 0  # name spans translated alone for the entity signal (cache misses)
    spans_cached: int = 0  # name spans read from the translation cache
    roundtrip_model: str | None = None
    qe_model: str | None = None  # the quality-estimation model's identity (quality.qe)
    qe_scored: int = 0  # segments the QE model scored (verdict cache misses)
    settings: str | None = None  # the settings hash of the gate that judged (with its models and lexicon)
    notes: list[str] = field(default_factory=list)


def judge_with_roundtrip(
    gate: Gate,
    sources: Sequence[str],
    outputs: Sequence[Translation],
    *,
    spec: ModelSpec,
    translate: TranslateFn,
    units: UnitRunner | None = None,
    verdict_cache: VerdictCache | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[list[Verdict], GateStats]:
    """Verdicts for (source, output) pairs, with the round-trip signal where the gate asks for
    it: outputs that pass the cheap signals are translated back by `reverse_spec(spec)` through
    `translate` (mt_aug.translation.engine.Translator: the one translation path, its cache and
    workers). Names the entity signal cannot find word for word are translated alone by `spec`
    (the forward model) through the same `translate`; the word-lost signal uses `spec`'s
    lexicon (`model_lexicon`); the QE model (`quality.qe`) scores as work units on `units`
    (default: this process). Verdicts are read from and written to `verdict_cache` when given.
    `spec` is the forward model's spec."""
    stats = GateStats(judged=len(sources))
    rev = roundtrip.reverse_spec(spec, gate.src, gate.tgt, gate.cfg) if gate.cfg.roundtrip else None
    if gate.cfg.roundtrip and rev is None:
        stats.notes.append(f"round-trip: no reverse model for {spec.backend} {spec.model} ({gate.tgt}->{gate.src}); "
                           f"set quality.roundtrip_models.{gate.tgt}")
    if rev is not None:
        stats.roundtrip_model = model_identity(rev, gate.tgt, gate.src)
    lexicon = gate.lexicon
    if (gate.cfg.coverage or gate.cfg.added_content) and lexicon is None:
        lexicon = model_lexicon(spec, gate.src, gate.tgt)
        uses = [n for n, on in (("word lost", gate.cfg.coverage), ("added content", gate.cfg.added_content)) if on]
        if lexicon is None:
            stats.notes.extend(f"{n}: {spec.backend} {spec.model} ships no bilingual lexicon "
                               f"({gate.src}->{gate.tgt}); the signal did not run" for n in uses)
        elif not knows_language(gate.src):
            lexicon = None
            stats.notes.extend(f"{n}: wordfreq has no word list for {gate.src}; the signal did not run" for n in uses)
    forward = model_identity(spec, gate.src, gate.tgt) if gate.wants_spans() or lexicon is not None else None
    if gate.cfg.qe is not None:
        stats.qe_model = qe_identity(gate.cfg.qe, units)
    if (gate.reverse_model, gate.forward_model, gate.lexicon, gate.qe_model) != \
            (stats.roundtrip_model, forward, lexicon, stats.qe_model):
        gate = Gate(gate.cfg, gate.src, gate.tgt, gate.candidates, reverse_model=stats.roundtrip_model,
                    forward_model=forward, lexicon=lexicon, qe_model=stats.qe_model)
    stats.settings = gate.settings_hash
    pairs = [(s, o.text + ("\x00limit" if o.hit_length_limit else "")) for s, o in zip(sources, outputs, strict=True)]
    found = verdict_cache.get_many(gate.settings_hash, pairs) if verdict_cache is not None else {}
    stats.cached = sum(1 for p in pairs if p in found)
    todo = [i for i, p in enumerate(pairs) if p not in found]
    back: dict[str, str] = {}
    wants = [gate.wants_roundtrip(sources[i]) for i in todo]
    if rev is not None:
        wanted = sorted({outputs[i].text for i, w in zip(todo, wants, strict=True)
                         if w and gate.structural(sources[i], outputs[i]) is None})
        if wanted:
            got, tstats = translate(wanted, rev, gate.tgt, gate.src, progress=progress)
            back = {k: v.text for k, v in got.items()}
            stats.back_translated, stats.back_cached = tstats.translated, tstats.cached
    spans: dict[str, str] | None = None
    if forward is not None:
        wanted_spans = gate.name_spans([sources[i] for i in todo], [outputs[i] for i in todo])
        spans = {}
        if wanted_spans:
            got, tstats = translate(wanted_spans, spec, gate.src, gate.tgt)
            spans = {k: v.text for k, v in got.items()}
            stats.spans_translated, stats.spans_cached = tstats.translated, tstats.cached
    qe: list[float | None] | None = None
    if gate.cfg.qe is not None:
        scored = [i for i in todo if gate.structural(sources[i], outputs[i]) is None]
        got_qe = dict(zip(scored, qe_scores(gate.cfg.qe, [sources[i] for i in scored],
                                            [outputs[i].text.strip() for i in scored], units), strict=True))
        qe = [got_qe.get(i) for i in todo]
        stats.qe_scored = len(scored)
    fresh = gate.judge([sources[i] for i in todo], [outputs[i] for i in todo],
                       [back.get(outputs[i].text) if w else None for i, w in zip(todo, wants, strict=True)], spans, qe)
    if verdict_cache is not None and todo:
        verdict_cache.put_many(gate.settings_hash, [(pairs[i][0], pairs[i][1], v) for i, v in zip(todo, fresh, strict=True)])
    result = [found.get(p) for p in pairs]
    for i, v in zip(todo, fresh, strict=True):
        result[i] = v
    return result, stats  # type: ignore[return-value]  (every slot is filled: cached or fresh)


FIGURES = Path(__file__).with_name("sealed_figures.json")


def measured_figures(lang: str, path: Path = FIGURES) -> dict[str, Any] | None:
    """This gate version's measured precision, recall and bad-among-kept for a target language
    (`sealed_figures.json`: the sealed set's once measured, the tuning set's, in-sample, until
    then); None when none were measured for the language or for this gate version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if str(data.get("gate_version")) != GATE_VERSION:
        return None
    got = (data.get("languages") or {}).get(lang)
    return dict(got) if isinstance(got, dict) else None


def summary(sources: Sequence[str], outputs: Sequence[Translation], verdicts: Sequence[Verdict],
            gate: Gate, worst: int = 5, settings: str | None = None) -> dict[str, Any]:
    """The manifest's `translation.<lang>.quality` (rendered by the card): drops by reason,
    every signal that fired, the round-trip chrF distribution and the worst examples.
    `settings`: the key of the gate that judged (`GateStats.settings`), if not `gate`'s own."""
    dropped = Counter(v.reason for v in verdicts if v.reason is not None)
    fired = Counter(f for v in verdicts for f in v.failed)
    out: dict[str, Any] = {
        "gate_version": GATE_VERSION,
        "settings": settings if settings is not None else gate.settings_hash,
        "judged": len(verdicts),
        "dropped": dict(sorted(dropped.items())),
        "signals": dict(sorted(fired.items())),
    }
    figures = measured_figures(gate.tgt)
    if figures is not None:
        # the card's best estimate of the residual errors, until a person audits (measured with the defaults)
        out["figures"] = {**figures, "default_settings": gate.cfg == QualityConfig()}
    scored = sorted(v.scores["chrf"] for v in verdicts if "chrf" in v.scores)
    if scored:
        def q(p: float) -> float:
            return scored[min(len(scored) - 1, int(p * len(scored)))]

        bins = Counter(min(int(x // 10) * 10, 90) for x in scored)
        out["roundtrip"] = {
            "scored": len(scored),
            "threshold": gate.roundtrip_threshold,
            "chrf": {"p10": q(0.1), "p25": q(0.25), "median": q(0.5), "p75": q(0.75), "p90": q(0.9)},
            "histogram": {f"{b}-{b + 10}": bins[b] for b in range(0, 100, 10) if bins[b]},
        }
    # worst: dropped first (lowest chrF first where scored), then the lowest-scoring kept ones
    # (kept ones only where a round-trip scored them)
    order = sorted((i for i in range(len(verdicts)) if verdicts[i].reason is not None or "chrf" in verdicts[i].scores),
                   key=lambda i: (verdicts[i].reason is None, verdicts[i].scores.get("chrf", 101.0), sources[i]))
    out["worst"] = [
        {"source": sources[i][:300], "output": outputs[i].text[:300], "reason": verdicts[i].reason,
         **({"chrf": verdicts[i].scores["chrf"]} if "chrf" in verdicts[i].scores else {}),
         **({"evidence": verdicts[i].evidence} if verdicts[i].evidence else {})}
        for i in order[:worst]
    ]
    return out
