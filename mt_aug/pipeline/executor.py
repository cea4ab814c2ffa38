"""Executors: where stages and translation work units run.

`LocalExecutor` runs everything in this process (tests, `mt_aug.pipeline.build` without
Prefect). The Prefect executor in `flows/` implements the same three methods with tasks,
retries, a task runner (local threads, Dask, Ray) and artifacts. Stages never know which one
runs them.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mt_aug.config import BuildConfig
from mt_aug.pipeline.stage import Stage, StageResult

log = logging.getLogger("mt_aug.pipeline")

U = TypeVar("U")
R = TypeVar("R")


class Executor(Protocol):
    reused: list[str]  # names of the stages whose cached result was reused, in order

    def run_stage(self, stage: Stage, cfg: BuildConfig, inputs: dict[str, Any], key: str) -> StageResult:
        """Run one stage (or reuse its cached result under `key`)."""

    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str) -> Iterator[tuple[int, R]]:
        """Run `fn` on every unit, yielding (unit index, result) as units complete."""

    def report(self, name: str, done: int, total: int, message: str) -> None:
        """Progress of long work (a log line; the Prefect executor also updates an artifact)."""


class ResultStore:
    """Stage results on disk under their content key: `<root>/<key>.pkl`, written atomically.

    Values are pickled (Arrow tables pickle as Arrow IPC); the key is never a hash of a
    pickle: it is the stage's declared content key (mt_aug.pipeline.stage)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, key: str) -> StageResult | None:
        path = self.root / f"{key}.pkl"
        try:
            with open(path, "rb") as f:
                got = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged cache entry is a miss, never a failure
            log.warning("%s: unreadable cached stage result (%s): recomputing", path, exc)
            return None
        return got if isinstance(got, StageResult) else None

    def put(self, key: str, result: StageResult) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.root / f"{key}.pkl")
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            from mt_aug.packing.shards import named

            raise named(exc, self.root / f"{key}.pkl") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class LocalExecutor:
    """Stages and units in this process, in order; stage results cached in a ResultStore."""

    REPORT_EVERY_S = 10.0  # progress lines at most this often (and at the end)

    def __init__(self, store: ResultStore | None = None) -> None:
        self.store = store
        self.reused: list[str] = []  # names of stages whose cached result was reused
        self._last: dict[str, float] = {}

    def run_stage(self, stage: Stage, cfg: BuildConfig, inputs: dict[str, Any], key: str) -> StageResult:
        if self.store is not None and stage.cache == "result":
            got = self.store.get(key)
            if got is not None:
                self.reused.append(stage.name)
                return got
        result = stage.run(cfg, inputs)
        if self.store is not None and stage.cache == "result":
            self.store.put(key, result)
        return result

    def map_units(self, fn: Callable[[U], R], units: Sequence[U], *, name: str) -> Iterator[tuple[int, R]]:
        for i, unit in enumerate(units):
            yield i, fn(unit)

    def report(self, name: str, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if done >= total or now - self._last.get(name, 0.0) >= self.REPORT_EVERY_S:
            self._last[name] = now
            log.info("%s: %d/%d %s", name, done, total, message)
