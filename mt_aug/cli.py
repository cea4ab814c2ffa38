"""The `mt-aug` command line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    name="mt-aug",
    help="Turn English QA datasets into a decontaminated, multilingual, hybrid-batched retriever corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(msg: str, code: int = 2) -> NoReturn:
    typer.echo(f"mt-aug: error: {msg}", err=True)
    raise typer.Exit(code)


def _prefect_env() -> None:
    """Defaults for running Prefect offline on its ephemeral local API."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "mt_aug")
    os.environ.setdefault("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "0"))


ConfigArg = Annotated[Path, typer.Argument(help="Build config (YAML).", show_default=False)]


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config: keys, values, files, languages and backends. Exit 2 on the first problem."""
    from mt_aug.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
    typer.echo(f"{config}: ok: {len(cfg.sources)} source(s), languages {' '.join(cfg.languages)}, "
               f"{len(cfg.eval_sets)} eval set(s), output {cfg.output_dir}")


@app.command()
def build(
    config: ConfigArg,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Override output_dir.")] = None,
) -> None:
    """Run the build-corpus flow (Prefect's ephemeral API, or PREFECT_API_URL) and print the build dir."""
    from mt_aug.config import ConfigError, load_config

    try:
        load_config(config, output_dir=output)  # fail fast, before Prefect starts, writing nothing
    except ConfigError as exc:
        _fail(str(exc))
    _prefect_env()
    from flows.build_corpus import build_corpus
    from mt_aug.readers import SourceError
    from mt_aug.translate.base import BackendError

    try:
        build_dir = build_corpus(str(config), str(output) if output else None)
    except (ConfigError, SourceError, BackendError) as exc:
        _fail(str(exc))
    typer.echo(build_dir)


@app.command()
def verify(build_dir: Annotated[Path, typer.Argument(help="A build directory (or <output_dir>/current).")]) -> None:
    """Recompute checksums and check every batch invariant. Exit 1 naming file, batch and rule."""
    from mt_aug.verify import VerifyError, verify_build

    try:
        summary = verify_build(build_dir)
    except VerifyError as exc:
        _fail(f"{build_dir}: {exc}", code=1)
    typer.echo(f"{build_dir}: ok: {summary['files']} files, {summary['batches']} batches, {summary['rows']} rows")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app()


if __name__ == "__main__":
    main()
