"""Where work units run: what a unit needs (`Resources`), the part of an executor that runs
units and reports progress (`UnitRunner`: the translation engine and the quality gate need
no more), and `LocalUnits`, which runs them in this process.

The pipeline's `Executor` (mt_aug.pipeline.executor) is a UnitRunner that also runs stages;
the Prefect one (flows/executor.py) submits units to its task runner's workers."""

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
    """What one run of a stage (or one of its work units) needs; executors place work by it."""

    cpus: float = 1.0
    gpus: float = 0.0


class UnitRunner(Protocol):
    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str) -> Iterator[tuple[int, R]]:
        """Run `fn` on every unit, yielding (unit index, result) as units complete."""

    def report(self, name: str, done: int, total: int, message: str) -> None:
        """Progress of long work (a log line; the Prefect executor also updates an artifact)."""


class LocalUnits:
    """Units in this process, in order; progress as a log line at most every REPORT_EVERY_S."""

    REPORT_EVERY_S = 10.0  # progress lines at most this often (and at the end)

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str) -> Iterator[tuple[int, R]]:
        for i, unit in enumerate(units):
            yield i, fn(unit)

    def report(self, name: str, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if done >= total or now - self._last.get(name, 0.0) >= self.REPORT_EVERY_S:
            self._last[name] = now
            log.info("%s: %d/%d %s", name, done, total, message)
