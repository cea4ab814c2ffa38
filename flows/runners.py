"""Task runners: where translation work units run."""

from __future__ import annotations

import os
from typing import Any, Literal

RunnerKind = Literal["local", "dask", "ray"]


def make_task_runner(kind: RunnerKind = "local", address: str | None = None, workers: int = 2) -> Any:
    """local: units one at a time in this process (each backend already uses every core);
    dask: a Dask cluster at `address`, or a local one of `workers` single-threaded workers;
    ray: a Ray cluster at `address` (prefect-ray, installed with the `ray` extra).

    Remote workers report to the Prefect API: set PREFECT_API_URL to a running server, or
    every worker starts an ephemeral one of its own."""
    if kind == "local":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=1)
    if address and not os.environ.get("PREFECT_API_URL"):
        raise ValueError(f"--task-runner {kind} with a cluster address needs PREFECT_API_URL set to a running "
                         "Prefect server (prefect server start --host 127.0.0.1), which the workers report to")
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        # threads, not processes: the backends release the GIL, and the workers share this
        # process's Prefect API and loaded models
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": False,
                                              "dashboard_address": None})
    if kind == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError:
            raise ValueError("--task-runner ray needs prefect-ray: pip install 'mt-aug[ray]'") from None
        return RayTaskRunner(address=address) if address else RayTaskRunner()
    raise ValueError(f"unknown task runner {kind!r} (local, dask, ray)")
