"""Where work units run: what a unit needs (`Resources`), the part of an executor that runs
units and reports progress (`UnitRunner`: the translation engine and the quality gate need
no more), and `LocalUnits`, which runs them in this process.

The pipeline's `Executor` (mt_aug.pipeline.executor) is a UnitRunner that also runs stages;
the Prefect one (flows/executor.py) submits units to its task runner's workers and places each
by its Resources (Dask resource annotations, Ray remote options, task tags)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger("mt_aug.pipeline")

U = TypeVar("U")
R = TypeVar("R")


@dataclass(frozen=True)
class Resources:
    """What one work unit needs where it runs: `cpus` threads (a backend's `threads`) and `gpus`
    (1 for a model on `device: cuda`). Executors place units by it; the work in a unit does not
    change with it (the same bytes on any executor)."""

    cpus: float = 1.0
    gpus: float = 0.0

    def tags(self) -> tuple[str, ...]:
        """Task tags of a unit (Prefect: a tag concurrency limit, `prefect concurrency-limit
        create mt-aug-gpu 1`, caps the units that hold a GPU at once)."""
        return ("mt-aug-unit", "mt-aug-gpu" if self.gpus > 0 else "mt-aug-cpu")


Placement = Resources | Sequence[Resources]  # one for every unit, or one per unit


def per_unit(resources: Placement, n: int) -> list[Resources]:
    """The Resources of each of `n` units."""
    if isinstance(resources, Resources):
        return [resources] * n
    if len(resources) != n:
        raise ValueError(f"{len(resources)} Resources for {n} units")
    return list(resources)


class UnitRunner(Protocol):
    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str,
                  resources: Placement = Resources()) -> Iterator[tuple[int, R]]:
        """Run `fn` on every unit (each placed by its Resources), yielding (unit index, result)
        as units complete. `fn` and the units must pickle: a remote runner ships them."""

    def report(self, name: str, done: int, total: int, message: str) -> None:
        """Progress of long work (a log line; the Prefect executor also updates an artifact)."""


class LocalUnits:
    """Units in this process, one after another; progress as a log line at most every
    REPORT_EVERY_S. Nothing to place: a unit's backend already runs on `Resources.cpus`
    threads (its `threads`), which is the machine a local build has, and units run in turn
    because a process holds one model per direction, shared by every unit (a transformers
    tokenizer must not be called from two threads at once)."""

    REPORT_EVERY_S = 10.0  # progress lines at most this often (and at the end)

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str,
                  resources: Placement = Resources()) -> Iterator[tuple[int, R]]:
        per_unit(resources, len(units))  # the same contract as every runner: one per unit, or one
        for i, unit in enumerate(units):
            yield i, fn(unit)

    def report(self, name: str, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if done >= total or now - self._last.get(name, 0.0) >= self.REPORT_EVERY_S:
            self._last[name] = now
            log.info("%s: %d/%d %s", name, done, total, message)
