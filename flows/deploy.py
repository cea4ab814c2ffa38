"""Scheduled rebuilds: a deployment of `build-corpus` with a cron schedule."""

from __future__ import annotations

from pathlib import Path

from prefect.deployments.runner import RunnerDeployment

from flows.build_corpus import build_corpus
from mt_aug.config import load_config


def deployment_for(config_path: str | Path, cron: str, name: str | None = None,
                   output_dir: str | Path | None = None, timezone: str = "UTC") -> RunnerDeployment:
    """A deployment that rebuilds the corpus of `config_path` on the cron schedule. The
    config is validated now, so a broken config fails here and not at 3 a.m. The temporary
    API server this process may start dies with it (flows.server_guard)."""
    from flows import server_guard

    server_guard.install()
    config_path = Path(config_path).resolve()
    cfg = load_config(config_path, output_dir=output_dir)
    params: dict[str, str] = {"config_path": str(config_path)}
    if output_dir is not None:
        params["output_dir"] = str(Path(output_dir).resolve())
    from prefect.client.schemas.schedules import CronSchedule

    return build_corpus.to_deployment(
        name=name or f"rebuild-{cfg.name}",
        schedule=CronSchedule(cron=cron, timezone=timezone),
        parameters=params,
        tags=["mt-aug", cfg.name],
        description=f"Rebuild the {cfg.name} corpus ({config_path.name}) into {cfg.output_dir}",
    )


def serve(config_path: str | Path, cron: str, name: str | None = None, output_dir: str | Path | None = None) -> None:
    """Register the deployment and run its scheduled flow runs in this process (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(deployment_for(config_path, cron, name, output_dir))
