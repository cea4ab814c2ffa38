"""Scheduled rebuilds: a deployment of `build-corpus` with a cron schedule, served by this process."""

from __future__ import annotations

import json
import os
from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.utilities.callables import ParameterSchema

from flows.build_corpus import SERVED_ENV, served_build
from mt_aug.config import load_config


class _NoParameters(ParameterSchema):
    """The parameter schema of a flow with none, that also says so to the server's check
    (`additionalProperties: false`: a run with any parameter is refused)."""

    additionalProperties: bool = False  # noqa: N815 - the JSON Schema keyword


def deployment_for(config_path: str | Path, cron: str, name: str | None = None,
                   output_dir: str | Path | None = None, timezone: str = "UTC", *,
                   served: bool = False) -> RunnerDeployment:
    """A deployment that rebuilds the corpus of `config_path` on the cron schedule. The
    config is validated now, so a broken config fails here and not at 3 a.m. The temporary
    API server this process may start dies with it (flows.server_guard).

    Its flow (`served_build`) takes no parameters: what it builds is fixed in this process.
    `served=True` (`mt-aug serve`, which then serves it): this process's environment names the
    config and output folder, for the runs it starts; its flow runs build that or nothing."""
    from flows import server_guard

    server_guard.install()
    config_path = Path(config_path).resolve()
    out = str(Path(output_dir).resolve()) if output_dir is not None else None
    cfg = load_config(config_path, output_dir=output_dir)
    if served:
        os.environ[SERVED_ENV] = json.dumps({"config_path": str(config_path), "output_dir": out})
    from prefect.client.schemas.schedules import CronSchedule

    dep = served_build.to_deployment(
        name=name or f"rebuild-{cfg.name}",
        schedule=CronSchedule(cron=cron, timezone=timezone),
        tags=["mt-aug", cfg.name],
        description=f"Rebuild the {cfg.name} corpus ({config_path.name}) into {cfg.output_dir}; parameters are "
                    "refused (the served config is fixed)",
        enforce_parameter_schema=True,
    )
    # no parameter may be given: the server refuses a run with any (unless its caller turns the
    # check off; the flow refuses them then)
    dep._parameter_openapi_schema = _NoParameters(additionalProperties=False)
    return dep


def serve(config_path: str | Path, cron: str, name: str | None = None, output_dir: str | Path | None = None,
          timezone: str = "UTC") -> None:
    """Register the deployment and run its scheduled flow runs in this process (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(deployment_for(config_path, cron, name, output_dir, timezone, served=True))
