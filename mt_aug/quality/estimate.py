"""How good is a quality gate: precision, recall and the bad rate among kept segments, estimated
from a labelled sample, with 95% intervals. The one estimator of the project: `mt-aug audit`
and `benchmarks/quality.py` (tuning and sealed sets) both use it.

The sample is **stratified** by what a gate did to each segment of a population (a build, a
part of a sealed set): stratum `drop` (every drop, or a random sample of them) and stratum
`kept` (a random sample of the kept segments). Each labelled row carries its stratum, whether
the gate *being measured* drops it (the stratifying gate itself, or another one: a new gate's
drops among the sampled kept rows are weighted as the kept stratum's share of the population),
and its label. With N_h segments in stratum h and n_h of them labelled, every estimate is a
ratio of stratum-weighted means (the combined ratio estimator):

    R = sum_h N_h * mean_h(y) / sum_h N_h * mean_h(x)

precision: y = dropped and bad, x = dropped; recall: y = dropped and bad, x = bad; bad among
kept: y = kept and bad, x = kept.

**Interval**: Wilson's score interval with the design's effective sample size (Korn and
Graubard 1998, with Wilson's interval in place of Clopper-Pearson's): the variance of R by
linearization, var = sum_h N_h^2 * s_h^2 / n_h / X^2 with s_h^2 the within-stratum variance
(divisor n_h) of e = y - R * x, and n_eff = R (1 - R) / var, capped at the number of labelled
rows with x = 1. With one stratum (a precision of the stratifying gate: every row with x = 1
is in `drop`) this is exactly Wilson's interval of k bad of n. No finite-population
correction: the intervals speak for the gate on text of this kind, not only for the segments
of this build.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

Z95 = 1.959963984540054
STRATA = ("drop", "kept")


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of k successes in n trials (k and n may be effective, non-integer
    counts); (0, 1) for n = 0."""
    if n <= 0:
        return (0.0, 1.0)
    p = min(max(k / n, 0.0), 1.0)
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled segment: its stratum (what the stratifying gate did), whether the gate being
    measured drops it, and whether a person found its translation bad."""

    stratum: str
    dropped: bool
    bad: bool


@dataclass(frozen=True, slots=True)
class Interval:
    value: float
    lo: float
    hi: float
    n_eff: float  # the effective sample size behind the interval

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {k: round(v, digits) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class Estimates:
    precision: Interval | None  # None: the gate dropped no labelled row
    recall: Interval | None  # None: no labelled row is bad
    bad_among_kept: Interval | None  # None: the gate kept no labelled row
    strata: dict[str, dict[str, int]]  # stratum -> population, labelled, bad, dropped (by the measured gate)

    def as_dict(self) -> dict[str, object]:
        return {"precision": self.precision.as_dict() if self.precision else None,
                "recall": self.recall.as_dict() if self.recall else None,
                "bad_among_kept": self.bad_among_kept.as_dict() if self.bad_among_kept else None,
                "strata": self.strata}


def _ratio(rows: list[Labelled], population: Mapping[str, int], y: list[float], x: list[float],
           z: float) -> Interval | None:
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by.setdefault(r.stratum, []).append(i)
    num = den = 0.0
    for h, idx in by.items():
        w = population[h] / len(idx)
        num += w * sum(y[i] for i in idx)
        den += w * sum(x[i] for i in idx)
    if den <= 0:
        return None
    r = num / den
    var = 0.0
    for h, idx in by.items():
        e = [y[i] - r * x[i] for i in idx]
        mean = sum(e) / len(e)
        s2 = sum((v - mean) ** 2 for v in e) / len(e)
        var += population[h] ** 2 * s2 / len(idx)
    var /= den * den
    n_x = sum(1 for v in x if v)
    n_eff = min(r * (1 - r) / var, n_x) if var > 0 else n_x
    lo, hi = wilson(r * n_eff, n_eff, z)
    return Interval(r, lo, hi, n_eff)


def stratified(rows: Iterable[Labelled], population: Mapping[str, int], z: float = Z95) -> Estimates:
    """Precision, recall and bad-among-kept of the gate whose drops `rows` record, from rows
    labelled in strata of the sizes `population` (stratum -> segments of the population).
    Raises ValueError on a stratum with no population, or with labelled rows but size 0."""
    rows = list(rows)
    for r in rows:
        if r.stratum not in population:
            raise ValueError(f"stratum {r.stratum!r}: no population size given (strata: {sorted(population)})")
        if population[r.stratum] <= 0:
            raise ValueError(f"stratum {r.stratum!r}: labelled rows, but a population of {population[r.stratum]}")
    d = [float(r.dropped) for r in rows]
    b = [float(r.bad) for r in rows]
    tp = [float(r.dropped and r.bad) for r in rows]
    kept = [1.0 - v for v in d]
    kept_bad = [float(not r.dropped and r.bad) for r in rows]
    strata = {h: {"population": int(population[h]), "labelled": sum(1 for r in rows if r.stratum == h),
                  "bad": sum(1 for r in rows if r.stratum == h and r.bad),
                  "dropped": sum(1 for r in rows if r.stratum == h and r.dropped)} for h in population}
    return Estimates(_ratio(rows, population, tp, d, z), _ratio(rows, population, tp, b, z),
                     _ratio(rows, population, kept_bad, kept, z), strata)


def simple(rows: Iterable[Labelled], z: float = Z95) -> Estimates:
    """The same figures for a sample that is its own population (one stratum, every row weighted
    alike): the plain Wilson intervals of a labelled set such as the tuning set."""
    rows = [Labelled("all", r.dropped, r.bad) for r in rows]
    return stratified(rows, {"all": max(len(rows), 1)}, z)
