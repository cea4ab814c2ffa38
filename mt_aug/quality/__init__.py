"""The translation quality gate: one module per signal (basic, langid, numbers, entities,
garbled, lexicon, roundtrip, qe) and `gate`, which combines them; verdicts cached in
`verdict_cache`. How good it is: `estimate` (stratified precision, recall, bad among kept,
Wilson intervals) and `audit` (a person's labels of a build, `mt-aug audit`)."""

from mt_aug.quality.gate import GATE_VERSION, REASONS, Gate, GateStats, judge_with_roundtrip, summary
from mt_aug.quality.roundtrip import reverse_spec
from mt_aug.quality.verdict import Verdict
from mt_aug.quality.verdict_cache import VerdictCache

__all__ = ["GATE_VERSION", "REASONS", "Gate", "GateStats", "Verdict", "VerdictCache", "judge_with_roundtrip",
           "reverse_spec", "summary"]
