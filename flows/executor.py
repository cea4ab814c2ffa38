"""`PrefectExecutor`: runs every stage of the library's pipeline as a Prefect task named after
it (`collect`, `translate`, `quality-pt`, `pack`, `write`, ...) and the translation work units
as tasks on the flow's task runner (threads, Dask, Ray), submitted from inside the `translate`
task (Prefect 3 submits a task called within a task to the flow run's task runner).

Prefect persists nothing: every task has `persist_result=False` and no cache policy, so no
Prefect result record (cloudpickle by default) is ever written or read. Stages with
`cache = "result"` look their result up, and store it, in the library's `ResultStore` under
the stage's own content key (mt_aug.pipeline.stage): data files (Arrow IPC and JSON,
mt_aug.pipeline.results) in `result_storage` (a folder or any fsspec URL) or
`<cache_dir>/results`, whose reading runs no code. A task whose result was reused says so in
its log (`collect: reused the cached result <key>`).

A stage task's one parameter is the token of its call: the stage, config and inputs stay in
the flow's process (where stage tasks run). So Prefect neither walks a million-entry input
looking for futures nor pickles the parent task's parameters (Arrow tables, the SQLite caches,
this executor) into the context it ships with every unit task submitted to Dask or Ray."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.futures import as_completed

from mt_aug.pipeline.executor import ResultStore, run_cached

_CALLS: dict[str, tuple[Any, Any, dict[str, Any], str, Any]] = {}  # call token -> (stage, cfg, inputs, key, store)


def stage_call(call: str) -> tuple[Any, Any, dict[str, Any], str, Any]:
    """The stage, config, inputs, key and result store of a call. A function of this module, so
    that cloudpickle (which pickles the decorated task function by value, with the globals it
    names, into the context of every unit task sent to Dask) pickles a reference to it, never
    `_CALLS`."""
    return _CALLS[call]


@task(cache_policy=NONE, persist_result=False)
def run_stage_task(call: str) -> tuple[Any, bool]:
    """One stage, on this process (the flow's), where its inputs are: `call` names them. Returns
    (its result, whether the result store had it), kept in memory only."""
    stage, cfg, inputs, key, store = stage_call(call)
    return run_cached(stage, cfg, inputs, key, store)


@task(name="unit", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=5)
def run_unit_task(fn: Callable[[Any], Any], unit: Any) -> Any:
    """One work unit on whatever worker the task runner gives it: pure (no cache writes); the
    worker keeps its model between units."""
    return fn(unit)


class PrefectExecutor:
    def __init__(self, store: ResultStore | None) -> None:
        self.store = store
        self.reused: list[str] = []  # names of stages whose cached result the store held
        self._progress: dict[str, Any] = {}

    def run_stage(self, stage: Any, cfg: Any, inputs: dict[str, Any], key: str) -> Any:
        call = f"{stage.name}-{uuid.uuid4().hex}"
        _CALLS[call] = (stage, cfg, inputs, key, self.store)
        try:
            state = run_stage_task.with_options(name=stage.name)(call, return_state=True)
        finally:
            del _CALLS[call]
        result, reused = state.result()  # raises the stage's exception if it failed
        if reused:
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
