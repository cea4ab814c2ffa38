"""The translation quality gate: one class per signal (`signal`), in the module of what it checks
(basic, langid, numbers, entities, garbled, lexicon, roundtrip, qe), registered in order in
`signals.SIGNALS`; `gate` runs the list; verdicts cached in `verdict_cache`. How good it is:
`estimate` (stratified precision, recall, bad among kept, Wilson intervals) and `audit` (a
person's labels of a build, `mt-aug audit`)."""

from mt_aug.quality.gate import GATE_VERSION, Gate, GateStats, judge_with_roundtrip, summary
from mt_aug.quality.roundtrip import reverse_spec
from mt_aug.quality.signals import REASONS, SIGNALS
from mt_aug.quality.verdict import Verdict
from mt_aug.quality.verdict_cache import VerdictCache

__all__ = ["GATE_VERSION", "REASONS", "SIGNALS", "Gate", "GateStats", "Verdict", "VerdictCache",
           "judge_with_roundtrip", "reverse_spec", "summary"]
