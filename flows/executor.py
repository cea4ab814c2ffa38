"""`PrefectExecutor`: runs every stage of the library's pipeline as a Prefect task named after
it (`collect`, `translate`, `quality-pt`, `pack`, `write`, ...) and the translation work units
as tasks on the flow's task runner (threads, Dask, Ray), submitted from inside the `translate`
task (Prefect 3 submits a task called within a task to the flow run's task runner). Results of
stages with `cache = "result"` are cached by Prefect under the stage's own content key
(mt_aug.pipeline.stage), persisted in `result_storage` (a folder or any fsspec URL) or
`<cache_dir>/results`; never keyed on pickled inputs.

A stage task's one parameter is the token of its call: the stage, config and inputs stay in
the flow's process (where stage tasks run). So Prefect neither walks a million-entry input
looking for futures nor pickles the parent task's parameters (Arrow tables, the SQLite caches,
this executor) into the context it ships with every unit task submitted to Dask or Ray."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE, CacheKeyFnPolicy
from prefect.futures import as_completed


_CALLS: dict[str, tuple[Any, Any, dict[str, Any]]] = {}  # call token -> (stage, cfg, inputs), this process


def stage_call(call: str) -> tuple[Any, Any, dict[str, Any]]:
    """The stage, config and inputs of a call. A function of this module, so that cloudpickle
    (which pickles the decorated task function by value, with the globals it names, into the
    context of every unit task sent to Dask) pickles a reference to it, never `_CALLS`."""
    return _CALLS[call]


@task(cache_policy=NONE, persist_result=False)
def run_stage_task(call: str) -> Any:
    """One stage, on this process (the flow's), where its inputs are: `call` names them."""
    stage, cfg, inputs = stage_call(call)
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
        self.reused: list[str] = []  # names of stages whose cached result Prefect returned
        self._progress: dict[str, Any] = {}

    def run_stage(self, stage: Any, cfg: Any, inputs: dict[str, Any], key: str) -> Any:
        t = run_stage_task.with_options(name=stage.name)
        if stage.cache == "result":
            t = t.with_options(cache_policy=CacheKeyFnPolicy(cache_key_fn=lambda _ctx, _params: key),
                               persist_result=True, result_storage=self.block)
        call = f"{stage.name}-{uuid.uuid4().hex}"
        _CALLS[call] = (stage, cfg, inputs)
        try:
            state = t(call, return_state=True)
        finally:
            del _CALLS[call]
        result = state.result()  # raises the stage's exception if it failed
        if state.name == "Cached":
            self.reused.append(stage.name)
        return result

    def map_units(self, fn: Callable[[Any], Any], units: Sequence[Any], *, name: str) -> Iterator[tuple[int, Any]]:
        futures = {run_unit_task.with_options(task_run_name=f"{name}-unit-{i}").submit(fn, u): i
                   for i, u in enumerate(units)}
        for fut in as_completed(list(futures)):
            yield futures[fut], fut.result()

    def report(self, name: str, done: int, total: int, message: str) -> None:
        get_run_logger().info("%s: %d/%d %s", name, done, total, message)
        if total:
            if name not in self._progress:
                self._progress[name] = create_progress_artifact(progress=0.0, description=f"{name}: work done")
            update_progress_artifact(self._progress[name], progress=100.0 * done / total)
