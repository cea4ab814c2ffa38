"""The `build-corpus` flow: `mt_aug.pipeline.build` with Prefect as its executor (stages as
tasks, translation units on the task runner's workers, progress and the card as artifacts)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.context import get_run_context

from flows.executor import PrefectExecutor
from flows.runners import make_task_runner
from mt_aug.config import load_config
from mt_aug.errors import user_error_message
from mt_aug.pipeline.builder import build, result_store


@task(name="artifacts", cache_policy=NONE, persist_result=False)
def artifacts_task(build_dir: Path) -> None:
    """The card's summary tables on the flow run, for the Prefect UI."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    m = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    card = (build_dir / "README.md").read_text(encoding="utf-8").split("---\n", 2)[-1]
    key = "".join(ch if ch.isalnum() else "-" for ch in m["name"].lower())
    create_markdown_artifact(markdown=card, key=f"{key}-card", description=f"Data card of build {m['build_id']}")
    create_table_artifact(
        key=f"{key}-sources",
        table=[{"source": n, "read": s["read"], "kept": s["kept"], "license": s["license"],
                **{f"dropped: {r}": c for r, c in s["dropped"].items()}} for n, s in sorted(m["sources"].items())],
        description="Records read, kept and dropped per source",
    )
    create_table_artifact(
        key=f"{key}-translation",
        table=[{"language": lang, **{k: t[k] for k in ("segments", "unique", "cached", "translated", "views")},
                "filtered": sum(t["filtered"].values()), "model": t["model"]}
               for lang, t in sorted(m["translation"].items())],
        description="Translation per target language",
    )
    create_table_artifact(
        key=f"{key}-batches",
        table=[{"kind": kind, "group": g, "batches": n, "leftover rows": m["leftovers"][kind].get(g, 0)}
               for kind in ("mono", "cross") for g, n in sorted(m["batches"][kind].items())],
        description="Batches per language / language pair",
    )


SERVED_ENV = "MT_AUG_SERVED"  # what `mt-aug serve` serves: {"config_path": ..., "output_dir": ...} (JSON)


def served_target() -> dict[str, str | None] | None:
    """The config and output folder this process serves (`mt-aug serve` sets them in its own
    environment, which the runs it starts inherit and no API caller can set), or None."""
    raw = os.environ.get(SERVED_ENV)
    if not raw:
        return None
    got = json.loads(raw)
    return {"config_path": str(got["config_path"]), "output_dir": got.get("output_dir")}


class NotServed(ValueError):
    """A flow run, in a serving process, asking for another config or output folder than the served one."""


def check_served(config_path: str, output_dir: str | None, cache_dir: str | None) -> None:
    """In a process that serves a deployment (`mt-aug serve`), a run builds the served config
    into the served output folder, or nothing: parameters are compared with the served values
    (paths resolved), never trusted. Outside one (`mt-aug build`, a worker), any config."""
    served = served_target()
    if served is None:
        return
    asked = {"config_path": str(Path(config_path).resolve()),
             "output_dir": str(Path(output_dir).resolve()) if output_dir is not None else None}
    for key in ("config_path", "output_dir"):
        if asked[key] != served[key]:
            raise NotServed(f"refused: this server builds {served['config_path']} into "
                            f"{served['output_dir'] or 'its output_dir'} only; a run asked for {key}={asked[key]!r}")
    if cache_dir is not None:
        raise NotServed(f"refused: this server builds with the served config's cache_dir only; a run asked for "
                        f"cache_dir={cache_dir!r}")


def _build(config_path: str, output_dir: str | None, cache_dir: str | None, locked: bool) -> str:
    from mt_aug.redact import install_log_redaction

    install_log_redaction()  # a served run is a process of its own: no URL credentials in its logs
    cfg = load_config(config_path, output_dir=output_dir, cache_dir=cache_dir)
    ctx = get_run_context()
    run_id = str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None
    executor = PrefectExecutor(result_store(cfg))
    final = build(config_path, output_dir=output_dir, cache_dir=cache_dir, executor=executor, run_id=run_id,
                  lock=not locked)
    artifacts_task(final)
    return str(final)


@flow(name="build-corpus", log_prints=True, task_runner=make_task_runner("local"), persist_result=False)
def build_corpus(config_path: str, output_dir: str | None = None, cache_dir: str | None = None,
                 locked: bool = False) -> str:
    """Build the corpus a config describes and publish it as `<output_dir>/current`. `locked`:
    the caller (`mt-aug build`, in this process) holds the output_dir's build lock already.
    In a serving process, only the served config (`check_served`)."""
    check_served(config_path, output_dir, cache_dir)
    return _build(config_path, output_dir, cache_dir, locked)


@flow(name="build-corpus", log_prints=True, task_runner=make_task_runner("local"), persist_result=False)
def served_build() -> str:
    """The flow `mt-aug serve` deploys. It takes no parameters: it builds the config this
    server was started with (`served_target`), so a flow run created through the API with its
    own `config_path` or `output_dir` fails before anything runs (Prefect refuses parameters the
    flow does not have; the server too, unless the caller turns its schema check off)."""
    served = served_target()
    if served is None:
        raise NotServed(f"refused: served_build runs only in a process started by `mt-aug serve` ({SERVED_ENV} unset)")
    return _build(str(served["config_path"]), served["output_dir"], None, False)


RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class UserErrorOnce(logging.Filter):
    """An error the user can fix (mt_aug.errors.user_error_message: a guard failure, a bad
    source, a full disk) is said once, by the caller (`mt-aug build`: `mt-aug: error: ...`),
    not also by every Prefect run it passes through: the task's and the flow's "failed with
    exception" records (with tracebacks) are dropped, and their "Finished in state Failed(...)"
    lines name the exception's type only. Errors that are bugs keep Prefect's logs whole."""

    def __init__(self) -> None:
        super().__init__()
        self.last: str | None = None  # exception type of the last user error dropped

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and user_error_message(exc) is not None:
            self.last = type(exc).__name__
            return False
        msg = record.getMessage()
        if self.last is not None and msg.startswith("Finished in state Failed"):
            record.msg, record.args = f"Finished in state Failed ({self.last}, raised to the caller)", ()
        return True


@contextmanager
def user_errors_once() -> Iterator[None]:
    """UserErrorOnce on Prefect's flow and task run loggers, for the block."""
    f = UserErrorOnce()
    for name in RUN_LOGGERS:
        logging.getLogger(name).addFilter(f)
    try:
        yield
    finally:
        for name in RUN_LOGGERS:
            logging.getLogger(name).removeFilter(f)


def run(config_path: str, output_dir: str | None = None, cache_dir: str | None = None, *,
        task_runner: str = "local", address: str | None = None, workers: int = 2, locked: bool = False) -> str:
    """The `mt-aug build` entry (registered as the `prefect` executor of `mt_aug.executors`):
    the flow on the chosen task runner. A user error reaches the caller, which says it once."""
    from flows import server_guard

    server_guard.install()  # a killed `mt-aug build` takes its temporary Prefect server with it
    runner = make_task_runner(task_runner, address, workers)  # type: ignore[arg-type]
    flow_ = build_corpus.with_options(task_runner=runner) if task_runner != "local" else build_corpus
    with user_errors_once():
        return flow_(config_path, output_dir, cache_dir, locked)
