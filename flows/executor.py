"""`PrefectExecutor`: runs the library's stages as Prefect tasks and its translation work units
on the flow's task runner (threads, Dask, Ray). Stage results are cached by Prefect under the
stage's own content key (mt_aug.pipeline.stage), persisted in `result_storage` (a folder or any
fsspec URL) or `<cache_dir>/results`; never keyed on pickled inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE, CacheKeyFnPolicy
from prefect.futures import as_completed


@task(cache_policy=NONE, persist_result=False)
def run_stage_task(stage: Any, cfg: Any, inputs: dict[str, Any]) -> Any:
    """One stage, on this process (the flow's): its inputs are in memory here."""
    return stage.run(cfg, inputs)


@task(name="unit", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=5)
def run_unit_task(fn: Callable[[Any], Any], unit: Any) -> Any:
    """One work unit on whatever worker the task runner gives it: pure (no cache writes); the
    worker keeps its model between units."""
    return fn(unit)


def result_block(where: str) -> Any:
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem

    block = RemoteFileSystem(basepath=where) if "://" in where else LocalFileSystem(basepath=where)
    block.save("mt-aug-results-" + hashlib.sha256(where.encode()).hexdigest()[:12], overwrite=True)
    return block


class PrefectExecutor:
    def __init__(self, result_storage: str) -> None:
        self.block = result_block(result_storage)
        self._progress: dict[str, Any] = {}

    def run_stage(self, stage: Any, cfg: Any, inputs: dict[str, Any], key: str) -> Any:
        t = run_stage_task.with_options(name=stage.name)
        if stage.cache == "result":
            t = t.with_options(cache_policy=CacheKeyFnPolicy(cache_key_fn=lambda _ctx, _params: key),
                               persist_result=True, result_storage=self.block)
        return t(stage, cfg, inputs)

    def map_units(self, fn: Callable[[Any], Any], units: Sequence[Any], *, name: str) -> Iterator[tuple[int, Any]]:
        futures = {run_unit_task.with_options(task_run_name=f"{name}-{i}").submit(fn, u): i
                   for i, u in enumerate(units)}
        for fut in as_completed(list(futures)):
            yield futures[fut], fut.result()

    def report(self, name: str, done: int, total: int, message: str) -> None:
        get_run_logger().info("%s: %d/%d %s", name, done, total, message)
        if total:
            if name not in self._progress:
                self._progress[name] = create_progress_artifact(progress=0.0, description=f"{name}: work done")
            update_progress_artifact(self._progress[name], progress=100.0 * done / total)
