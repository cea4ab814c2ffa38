"""The `build-corpus` flow: `mt_aug.pipeline.build` with Prefect as its executor (stages as
tasks, translation units on the task runner's workers, progress and the card as artifacts)."""

from __future__ import annotations

import json
import logging
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


@flow(name="build-corpus", log_prints=True, task_runner=make_task_runner("local"), persist_result=False)
def build_corpus(config_path: str, output_dir: str | None = None, cache_dir: str | None = None,
                 locked: bool = False) -> str:
    """Build the corpus a config describes and publish it as `<output_dir>/current`. `locked`:
    the caller (`mt-aug build`, in this process) holds the output_dir's build lock already."""
    cfg = load_config(config_path, output_dir=output_dir, cache_dir=cache_dir)
    ctx = get_run_context()
    run_id = str(ctx.flow_run.id) if getattr(ctx, "flow_run", None) else None
    executor = PrefectExecutor(result_store(cfg))
    final = build(config_path, output_dir=output_dir, cache_dir=cache_dir, executor=executor, run_id=run_id,
                  lock=not locked)
    artifacts_task(final)
    return str(final)


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
