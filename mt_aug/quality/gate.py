"""The quality gate: its signals (mt_aug.quality.signals.SIGNALS, in order) on a list of unique
segments; the first one that fires is the verdict's reason. Built once per (config, source
language, target language, candidates).

    gate = Gate(cfg.quality, "en", "pt", ("en", "pt"))
    verdicts = gate.judge(sources, outputs)                 # no round-trip
    verdicts, stats = judge_with_roundtrip(gate, sources, outputs, spec=spec, translate=Translator(cache))

Every model call of the gate goes through what it is given: back-translations and name
look-ups through `translate` (in a build, the stage context's: the executor's workers and the
translation cache), the QE model's and the round-trip cosine's embedding model's loading and
scoring as work units on `units` (its workers).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mt_aug.config import ModelSpec, QualityConfig
from mt_aug.core.executor import UnitRunner
from mt_aug.core.versions import library_version
from mt_aug.quality import basic, roundtrip
from mt_aug.quality.lexicon import Lexicon, knows_language, model_lexicon
from mt_aug.quality.qe import cosine_identity, cosine_scores, qe_identity, qe_scores
from mt_aug.quality.signal import Case, Signal, Target
from mt_aug.quality.signals import REASONS, SIGNALS
from mt_aug.quality.verdict import Verdict
from mt_aug.quality.verdict_cache import VerdictCache
from mt_aug.translation.base import Translation
from mt_aug.translation.engine import TranslateFn, model_identity

__all__ = ["GATE_LIBRARIES", "GATE_VERSION", "REASONS", "SIGNALS", "Gate", "GateStats", "judge_with_roundtrip",
           "measured_figures", "summary"]

# The gate's rules as measured (BENCHMARKS.md, sealed_figures.json): bump when a signal changes
# what it decides (with that signal's own `version`); cached verdicts of other versions are not reused.
GATE_VERSION = "7"

# Distributions whose versions can change a verdict: part of the verdict cache's key, as the
# stage contract keys stage results (mt_aug.core.versions.library_version).
GATE_LIBRARIES = ("lingua-language-detector", "sacrebleu", "sentencepiece", "wordfreq")


class Gate:
    def __init__(self, cfg: QualityConfig, src: str, tgt: str, candidates: Sequence[str],
                 reverse_model: str | None = None, forward_model: str | None = None,
                 lexicon: Lexicon | None = None, qe_model: str | None = None,
                 cosine_model: str | None = None) -> None:
        """`reverse_model`, `forward_model`: the identities of the models that translate back
        (round-trip) and translate names alone (entities) or ship the lexicon: part of the
        verdicts' key. `lexicon`: the forward model's bilingual lexicon, for the signals that
        need one (word lost, added content; without one they do not run). `qe_model`: the identity
        of the quality-estimation model (`quality.qe`; mt_aug.quality.qe), with its weights' hash;
        `cosine_model`: the same of the round-trip's embedding model (`quality.roundtrip.cosine`)."""
        self.cfg, self.src, self.tgt = cfg, src, tgt
        self.candidates = tuple(sorted(set(candidates) | {src, tgt}))
        self.reverse_model, self.forward_model, self.qe_model = reverse_model, forward_model, qe_model
        self.cosine_model = cosine_model
        plain = Target(src, tgt, self.candidates)
        wanted = set().union(*(s.needs for s in self._signals(plain) if s.enabled))
        self.lexicon = lexicon if "lexicon" in wanted else None
        target = Target(src, tgt, self.candidates, self.lexicon)
        self.signals: tuple[Signal, ...] = self._signals(target)
        self.needs = frozenset().union(*(s.needs for s in self.signals if s.enabled))
        self.running = tuple(s for s in self.signals if s.active)
        self._structural = tuple(s for s in self.running if s.structural)
        self._content = tuple(s for s in self.running if not s.structural)

        blob = json.dumps({"version": GATE_VERSION, "signals": [s.key() for s in self.signals], "src": src, "tgt": tgt,
                           "candidates": self.candidates, "reverse": reverse_model, "forward": forward_model,
                           "lexicon": self.lexicon is not None, "qe": qe_model, "cosine": cosine_model,
                           "libraries": {d: library_version(d) for d in GATE_LIBRARIES}}, sort_keys=True)
        self.settings_hash = hashlib.sha256(blob.encode()).hexdigest()[:24]

    def _signals(self, target: Target) -> tuple[Signal, ...]:
        return tuple(cls(cls.section(self.cfg), target) for cls in SIGNALS)

    def signal(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    @property
    def roundtrip_threshold(self) -> float:
        return self.cfg.roundtrip.threshold(self.tgt)

    def wants_spans(self) -> bool:
        """The gate looks names up translated alone (the entity signal, Latin-script targets)."""
        return "names" in self.needs

    def name_spans(self, sources: Sequence[str], outputs: Sequence[Translation]) -> list[str]:
        """The source name spans to translate alone for `judge(spans=...)`, of the pairs that
        pass the structural signals."""
        if not self.wants_spans():
            return []
        out: set[str] = set()
        for s, o in zip(sources, outputs, strict=True):
            if self.structural(s, o) is None:
                text = o.text.strip()
                for sig in self._content:
                    out.update(sig.name_spans(s, text))
        return sorted(out)

    def wants_roundtrip(self, source: str) -> bool:
        """The segment is in the round-trip's sample (when the round-trip is on)."""
        return "back" in self.needs and roundtrip.in_sample(source, self.cfg.roundtrip.sample)

    def judge(self, sources: Sequence[str], outputs: Sequence[Translation],
              back: Sequence[str | None] | None = None, spans: Mapping[str, str] | None = None,
              qe: Sequence[float | None] | None = None,
              cosine: Sequence[float | None] | None = None) -> list[Verdict]:
        """One verdict per (source, output); `back`: the back-translation of each output (None
        where there is none: the round-trip signal then does not run for it); `spans`: the
        source's names translated alone (`name_spans`), for the entity signal; `qe`: the
        quality-estimation score of each (None: not scored); `cosine`: the round-trip cosine of
        each (source, back-translation) (None: not scored)."""
        if len(sources) != len(outputs) or any(x is not None and len(x) != len(sources) for x in (back, qe, cosine)):
            raise ValueError("judge: sources, outputs (and back, qe, cosine) differ in length")
        return [self.judge_one(s, o, back[i] if back is not None else None, spans, qe[i] if qe is not None else None,
                               cosine[i] if cosine is not None else None)
                for i, (s, o) in enumerate(zip(sources, outputs, strict=True))]

    def structural(self, source: str, out: Translation) -> str | None:
        """The cheap signals alone (empty, length limit, repetition, length ratio): the first reason."""
        case = Case(source, out.text.strip(), out.hit_length_limit)
        for sig in self._structural:
            sig.check(case)
            if case.failed:
                return case.failed[0]
        return None

    def judge_one(self, source: str, out: Translation, back: str | None = None,
                  spans: Mapping[str, str] | None = None, qe: float | None = None,
                  cosine: float | None = None) -> Verdict:
        text = out.text.strip()
        ratio = {"length_ratio": round(basic.length_ratio(source, text), 3)}
        first = self.structural(source, out)
        if first is not None:
            return Verdict(first, (first,), ratio)
        case = Case(source, text, out.hit_length_limit, back, spans if self.wants_spans() else None, qe, cosine,
                    scores=ratio)
        for sig in self._content:
            sig.check(case)
        return Verdict(case.failed[0] if case.failed else None, tuple(case.failed), case.scores,
                       "; ".join(case.evidence))


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
    cosine_model: str | None = None  # the round-trip embedding model's identity (quality.roundtrip.cosine)
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
    workers). What the gate's signals need is fetched first (`Gate.needs`): names the entity
    signal cannot find word for word are translated alone by `spec` (the forward model) through
    the same `translate`; the lexicon signals use `spec`'s lexicon (`model_lexicon`); the QE
    model (`quality.qe`) and the round-trip's embedding model (`quality.roundtrip.cosine`) load
    and score as work units on `units` (default: this process). Verdicts are read from and
    written to `verdict_cache` when given. `spec` is the forward model's spec."""
    stats = GateStats(judged=len(sources))
    rev = roundtrip.reverse_spec(spec, gate.src, gate.tgt, gate.cfg.roundtrip) if "back" in gate.needs else None
    if "back" in gate.needs and rev is None:
        stats.notes.append(f"round-trip: no reverse model for {spec.backend} {spec.model} ({gate.tgt}->{gate.src}); "
                           f"set quality.roundtrip.models.{gate.tgt}")
    if rev is not None:
        stats.roundtrip_model = model_identity(rev, gate.tgt, gate.src)
    lexicon = gate.lexicon
    if "lexicon" in gate.needs and lexicon is None:
        lexicon = model_lexicon(spec, gate.src, gate.tgt)
        uses = [s.reasons[0] for s in gate.signals if s.enabled and "lexicon" in s.needs]
        if lexicon is None:
            stats.notes.extend(f"{n}: {spec.backend} {spec.model} ships no bilingual lexicon "
                               f"({gate.src}->{gate.tgt}); the signal did not run" for n in uses)
        elif not knows_language(gate.src):
            lexicon = None
            stats.notes.extend(f"{n}: wordfreq has no word list for {gate.src}; the signal did not run" for n in uses)
    forward = model_identity(spec, gate.src, gate.tgt) if gate.wants_spans() or lexicon is not None else None
    qe_cfg = gate.cfg.qe if "qe" in gate.needs else None
    if qe_cfg is not None:
        stats.qe_model = qe_identity(qe_cfg, units)
    cos_cfg = gate.cfg.roundtrip.cosine if "cosine" in gate.needs and rev is not None else None
    if cos_cfg is not None:
        stats.cosine_model = cosine_identity(cos_cfg, units)
    if (gate.reverse_model, gate.forward_model, gate.lexicon, gate.qe_model, gate.cosine_model) != \
            (stats.roundtrip_model, forward, lexicon, stats.qe_model, stats.cosine_model):
        gate = Gate(gate.cfg, gate.src, gate.tgt, gate.candidates, reverse_model=stats.roundtrip_model,
                    forward_model=forward, lexicon=lexicon, qe_model=stats.qe_model, cosine_model=stats.cosine_model)
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
    if qe_cfg is not None:
        scored = [i for i in todo if gate.structural(sources[i], outputs[i]) is None]
        got_qe = dict(zip(scored, qe_scores(qe_cfg, [sources[i] for i in scored],
                                            [outputs[i].text.strip() for i in scored], units), strict=True))
        qe = [got_qe.get(i) for i in todo]
        stats.qe_scored = len(scored)
    backs = [back.get(outputs[i].text) if w else None for i, w in zip(todo, wants, strict=True)]
    cosine: list[float | None] | None = None
    if cos_cfg is not None:
        pairs_bt = [(k, sources[i], b) for k, (i, b) in enumerate(zip(todo, backs, strict=True)) if b is not None]
        got_cos = cosine_scores(cos_cfg, [s for _, s, _ in pairs_bt], [b for _, _, b in pairs_bt], units)
        by_pos = {k: c for (k, _, _), c in zip(pairs_bt, got_cos, strict=True)}
        cosine = [by_pos.get(k) for k in range(len(todo))]
    fresh = gate.judge([sources[i] for i in todo], [outputs[i] for i in todo], backs, spans, qe, cosine)
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
