"""The quality gate's signals, in the order they run: the one list the gate iterates, its
reasons and its verdicts' cache key are derived from (a signal: mt_aug.quality.signal).

The first reason given is a dropped segment's reason; the first structural signal that fires is
the whole verdict. A new signal: a class in the module of what it checks, a section of the same
`name` in `mt_aug.config.QualityConfig`, and a place in this list.
"""

from __future__ import annotations

from mt_aug.quality.basic import Empty, LengthLimit, LengthLoss, LengthRatio, Repetition
from mt_aug.quality.entities import AddedContent, Entities
from mt_aug.quality.garbled import Garbled
from mt_aug.quality.langid import LanguageId, Untranslated
from mt_aug.quality.lexicon import Coverage
from mt_aug.quality.numbers import Numbers
from mt_aug.quality.qe import QualityEstimate
from mt_aug.quality.roundtrip import RoundTrip, RoundTripCosine
from mt_aug.quality.sense import Sense
from mt_aug.quality.signal import Signal

SIGNALS: tuple[type[Signal], ...] = (
    Empty, LengthLimit, Repetition, LengthRatio,  # structural: the first that fires is the verdict
    Untranslated, LanguageId, Numbers, Entities, AddedContent, LengthLoss, Coverage, Garbled, Sense,
    RoundTrip, RoundTripCosine, QualityEstimate,
)

# Every reason the gate gives, in the order the signals give them.
REASONS: tuple[str, ...] = tuple(r for s in SIGNALS for r in s.reasons)
