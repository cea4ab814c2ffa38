"""Executors: where stages and their work units run.

`LocalExecutor` runs everything in this process (tests, `mt_aug.pipeline.build` without
Prefect). The Prefect executor in `flows/` implements the same three methods with tasks,
retries, a task runner (local threads, Dask, Ray) that places each work unit by its
`Resources`, and artifacts. A stage reaches its executor only through the stage context
(`ctx.map_units`, `ctx.translate`, ...), never knowing which one runs it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from mt_aug.config import BuildConfig
from mt_aug.core.executor import LocalUnits, UnitRunner
from mt_aug.core.files import named
from mt_aug.errors import UserError
from mt_aug.pipeline.results import SUFFIX, UnreadableResult, read_result, write_result
from mt_aug.pipeline.stage import Stage, StageContext, StageResult
from mt_aug.redact import redact_text

log = logging.getLogger("mt_aug.pipeline")


class Executor(UnitRunner, Protocol):
    """A UnitRunner (mt_aug.core.executor: work units, progress) that also runs stages."""

    reused: list[str]  # names of the stages whose cached result was reused, in order

    def run_stage(self, stage: Stage[Any, Any], ctx: StageContext, cfg: BuildConfig, inputs: dict[str, Any],
                  key: str) -> StageResult[dict[str, Any]]:
        """Run one stage (or reuse its cached result under `key`)."""


class ResultStore:
    """Stage results under their content key, as data (mt_aug.pipeline.results): `<root>/<key>.zip`
    in a folder (written to a temporary file, then renamed) or under an fsspec URL
    (`result_storage: s3://bucket/mt-aug/results`). Nothing here unpickles: a file that is not
    a result this code wrote is a miss, said once, and recomputed over. Pickled results of
    older versions (`<key>.pkl`) and Prefect result records (`<key>`) are never opened.

    The key is never a hash of what is stored: it is the stage's declared content key
    (mt_aug.pipeline.stage)."""

    def __init__(self, root: str | Path) -> None:
        self.where = str(root)
        self.fs: Any = None
        if "://" in self.where:
            import fsspec

            self.fs, self.base = fsspec.core.url_to_fs(self.where)
            self.root = None
        else:
            self.root = Path(root)

    def _shown(self, name: str) -> str:
        return redact_text(f"{self.where.rstrip('/')}/{name}")

    def get(self, key: str) -> StageResult[dict[str, Any]] | None:
        name = f"{key}{SUFFIX}"
        try:
            if self.fs is None:
                assert self.root is not None
                with open(self.root / name, "rb") as f:
                    return read_result(f)
            with self.fs.open(f"{self.base.rstrip('/')}/{name}", "rb") as f:
                return read_result(f)
        except FileNotFoundError:
            self._ignored(key)
            return None
        except (OSError, UnreadableResult) as exc:  # a damaged or planted entry is a miss, never code
            log.warning("%s: not a stage result this mt-aug wrote (%s): recomputing it", self._shown(name), exc)
            return None

    def _ignored(self, key: str) -> None:
        """Say so when a file of another kind sits where a result of this key would: never read."""
        for name in (f"{key}.pkl", key):
            try:
                there = (self.root / name).exists() if self.fs is None else self.fs.exists(
                    f"{self.base.rstrip('/')}/{name}")
            except OSError:
                there = False
            if there:
                log.warning("%s: ignored (pickled or Prefect-serialized stage results are never loaded; "
                            "delete it): recomputing", self._shown(name))

    def put(self, key: str, result: StageResult[dict[str, Any]]) -> None:
        name = f"{key}{SUFFIX}"
        if self.fs is not None:
            try:
                self.fs.makedirs(self.base, exist_ok=True)
                with self.fs.open(f"{self.base.rstrip('/')}/{name}", "wb") as f:
                    write_result(f, result)
            except OSError as exc:
                raise UserError(f"{self._shown(name)}: cannot write the stage result ({exc})") from None
            return
        assert self.root is not None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".tmp")
        except OSError as exc:
            raise named(exc, self.root / name) from None
        try:
            with os.fdopen(fd, "wb") as f:
                write_result(f, result)
            os.replace(tmp, self.root / name)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)

            raise named(exc, self.root / name) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def run_cached(stage: Stage[Any, Any], ctx: StageContext, cfg: BuildConfig, inputs: dict[str, Any], key: str,
               store: ResultStore | None) -> tuple[StageResult[dict[str, Any]], bool]:
    """(the stage's result, whether it was reused): from `store` under `key` when the stage caches
    its result and the store holds it, else computed (`stage.execute(ctx, cfg, inputs)`) and
    stored. Both executors run stages so."""
    if store is not None and stage.cache == "result":
        got = store.get(key)
        if got is not None:
            log.info("%s: reused the cached result %s", stage.name, key)
            return got, True
    result = stage.execute(ctx, cfg, inputs)
    if store is not None and stage.cache == "result":
        store.put(key, result)
    return result, False


class LocalExecutor(LocalUnits):
    """Stages and units in this process, in order; stage results cached in a ResultStore."""

    def __init__(self, store: ResultStore | None = None) -> None:
        super().__init__()
        self.store = store
        self.reused: list[str] = []  # names of stages whose cached result was reused

    def run_stage(self, stage: Stage[Any, Any], ctx: StageContext, cfg: BuildConfig, inputs: dict[str, Any],
                  key: str) -> StageResult[dict[str, Any]]:
        result, reused = run_cached(stage, ctx, cfg, inputs, key, self.store)
        if reused:
            self.reused.append(stage.name)
        return result
