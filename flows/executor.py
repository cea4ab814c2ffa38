"""`PrefectExecutor`: runs every stage of the library's pipeline as a Prefect task named after
it (`collect`, `translate`, `quality-pt`, `pack`, `write`, ...) and the work units the stages
hand it through their context (translation units, the quality gate's back-translations, name
look-ups and QE scoring) as tasks on the flow's task runner (threads, Dask, Ray), submitted
from inside the stage's task (Prefect 3 submits a task called within a task to the flow run's
task runner).

Each unit is placed by its `Resources` (mt_aug.core.executor) the way its task runner places
work: on Dask, resource annotations (`dask.annotate(resources=...)`) for the resources the
cluster's workers declare (`dask worker --resources "GPU=1"`; a resource no worker has is left
out, since a task asking for it would wait forever); on Ray, remote options (`num_cpus`,
`num_gpus`); on any runner, task tags (`mt-aug-unit`, `mt-aug-gpu` or `mt-aug-cpu`), which a
Prefect tag concurrency limit can cap.

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
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext
from prefect.futures import as_completed

from mt_aug.core.executor import Placement, Resources, per_unit
from mt_aug.errors import user_error_message
from mt_aug.pipeline.executor import ResultStore, run_cached

# call token -> (stage, ctx, cfg, inputs, key, store)
_CALLS: dict[str, tuple[Any, Any, Any, dict[str, Any], str, Any]] = {}


def stage_call(call: str) -> tuple[Any, Any, Any, dict[str, Any], str, Any]:
    """The stage, context, config, inputs, key and result store of a call. A function of this
    module, so that cloudpickle (which pickles the decorated task function by value, with the
    globals it names, into the context of every unit task sent to Dask) pickles a reference to
    it, never `_CALLS`."""
    return _CALLS[call]


@task(cache_policy=NONE, persist_result=False)
def run_stage_task(call: str) -> tuple[Any, bool]:
    """One stage, on this process (the flow's), where its inputs are: `call` names them. Returns
    (its result, whether the result store had it), kept in memory only."""
    stage, ctx, cfg, inputs, key, store = stage_call(call)
    return run_cached(stage, ctx, cfg, inputs, key, store)


def retry_unless_user_error(task: Any, task_run: Any, state: Any) -> bool:
    """A unit that failed for a reason the user must fix (a model that does not load, a backend
    that is not installed) is not tried again; anything else is (a lost worker, and an OSError:
    a network blip loading a model from the Hub)."""
    exc = state.result(raise_on_failure=False)
    return not (isinstance(exc, BaseException) and not isinstance(exc, OSError) and user_error_message(exc) is not None)


def dask_resources(resources: Resources, declared: set[str]) -> dict[str, float]:
    """The Dask resource annotation of a unit: its CPUs and GPUs, for the resource names some
    worker of the cluster declares (`CPU`, `GPU`); none, where the workers declare none."""
    wanted = {"CPU": resources.cpus, "GPU": resources.gpus}
    return {name: n for name, n in wanted.items() if n > 0 and name in declared}


def ray_options(resources: Resources) -> dict[str, float]:
    """Ray's remote options of a unit (Ray knows CPUs and GPUs on every node)."""
    return {"num_cpus": resources.cpus, "num_gpus": resources.gpus}


def _declared_dask_resources(runner: Any) -> set[str]:
    try:
        workers = runner.client.scheduler_info().get("workers", {})
    except Exception:  # noqa: BLE001 - no client, or the scheduler does not answer: place nothing
        return set()
    return {name for w in workers.values() for name in (w.get("resources") or {})}


class _Placer:
    """Places units the way the flow run's task runner does (see the module docstring)."""

    def __init__(self) -> None:
        ctx = FlowRunContext.get()
        self.runner = getattr(ctx, "task_runner", None)
        self.kind = type(self.runner).__name__
        self.declared = _declared_dask_resources(self.runner) if self.kind == "DaskTaskRunner" else set()

    def place(self, resources: Resources) -> AbstractContextManager[Any]:
        if self.kind == "DaskTaskRunner":
            import dask

            got = dask_resources(resources, self.declared)
            return dask.annotate(resources=got) if got else nullcontext()
        if self.kind == "RayTaskRunner":
            from prefect_ray.context import remote_options

            return remote_options(**ray_options(resources))
        return nullcontext()


@task(name="unit", cache_policy=NONE, persist_result=False, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_unless_user_error)
def run_unit_task(fn: Callable[[Any], Any], unit: Any) -> Any:
    """One work unit on whatever worker the task runner gives it: pure (no cache writes); the
    worker keeps its model between units."""
    return fn(unit)


class PrefectExecutor:
    def __init__(self, store: ResultStore | None) -> None:
        self.store = store
        self.reused: list[str] = []  # names of stages whose cached result the store held
        self._progress: dict[str, Any] = {}

    def run_stage(self, stage: Any, ctx: Any, cfg: Any, inputs: dict[str, Any], key: str) -> Any:
        call = f"{stage.name}-{uuid.uuid4().hex}"
        _CALLS[call] = (stage, ctx, cfg, inputs, key, self.store)
        try:
            state = run_stage_task.with_options(name=stage.name)(call, return_state=True)
        finally:
            del _CALLS[call]
        result, reused = state.result()  # raises the stage's exception if it failed
        if reused:
            self.reused.append(stage.name)
        return result

    def map_units(self, fn: Callable[[Any], Any], units: Sequence[Any], *, name: str,
                  resources: Placement = Resources()) -> Iterator[tuple[int, Any]]:
        placer = _Placer()
        futures = {}
        for i, (u, r) in enumerate(zip(units, per_unit(resources, len(units)), strict=True)):
            with placer.place(r):
                fut = run_unit_task.with_options(task_run_name=f"{name}-unit-{i}", tags=list(r.tags())).submit(fn, u)
            futures[fut] = i
        for fut in as_completed(list(futures)):
            yield futures[fut], fut.result()

    def report(self, name: str, done: int, total: int, message: str) -> None:
        get_run_logger().info("%s: %d/%d %s", name, done, total, message)
        if total:
            if name not in self._progress:
                self._progress[name] = create_progress_artifact(progress=0.0, description=f"{name}: work done")
            update_progress_artifact(self._progress[name], progress=100.0 * done / total)
