"""Progress of long steps, for a person at a terminal or a log file.

    from mt_aug import progress

    with progress.task("translate en->pt", total=len(segments), unit="segments") as t:
        for batch in batches:
            ...
            t.advance(len(batch))

When stderr is a terminal the tasks are rich progress bars (description, bar, done/total,
rate, ETA); otherwise each task logs a plain line (logger `mt_aug.progress`, level INFO) at
most every `every_s` seconds and one when it ends. `--quiet` (configure(quiet=True)) shows
neither. `t.callback` fits the translation engine's ProgressFn (done, total, rate).
Stages take a task (or nothing) and know nothing of rich or terminals.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from mt_aug.redact import install_log_redaction

log = logging.getLogger("mt_aug.progress")

_lock = threading.Lock()
_settings: dict[str, Any] = {"quiet": False, "tty": None, "console": None, "every_s": 10.0}
_live: dict[str, Any] = {"progress": None, "tasks": 0}


def configure(*, quiet: bool = False, tty: bool | None = None, console: Any = None, every_s: float = 10.0) -> None:
    """quiet: no progress at all; tty: force bars (True) or plain lines (False), None: bars when
    stderr is a terminal; console: a rich Console to draw on (tests); every_s: plain-line period."""
    _settings.update(quiet=quiet, tty=tty, console=console, every_s=every_s)


def bars_live() -> bool:
    """Whether progress bars are on screen now (plain progress lines would repeat them)."""
    return _live["progress"] is not None


def _use_bars() -> bool:
    tty = _settings["tty"]
    if tty is None:
        try:
            tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            tty = False
    return bool(tty)


def _fmt_eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class Task:
    """One step's progress. Not thread-safe by itself: advance it from one thread."""

    def __init__(self, description: str, total: int | None, unit: str, plain: bool) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.completed = 0
        self.t0 = self._last = time.monotonic()
        self._plain = plain
        self._bar: Any = None
        self._bar_id: Any = None

    # --- the API stages use ---------------------------------------------------------------
    def advance(self, n: int = 1) -> None:
        self.update(completed=self.completed + n)

    def update(self, completed: int | None = None, total: int | None = None) -> None:
        if total is not None:
            self.total = total
        if completed is not None:
            self.completed = completed
        if self._bar is not None:
            self._bar.update(self._bar_id, completed=self.completed, total=self.total)
        elif self._plain:
            now = time.monotonic()
            if now - self._last >= _settings["every_s"]:
                self._last = now
                log.info("%s", self.line())

    def callback(self, done: int, total: int, rate: float = 0.0) -> None:
        """The translation engine's ProgressFn: (done, total, items per second)."""
        self.update(completed=done, total=total)

    # --- rendering ------------------------------------------------------------------------
    def line(self, final: bool = False) -> str:
        dt = max(time.monotonic() - self.t0, 1e-9)
        rate = self.completed / dt
        done = f"{self.completed}/{self.total}" if self.total else f"{self.completed}"
        pct = f" ({100 * self.completed / self.total:.0f}%)" if self.total else ""
        if final:
            return f"{self.description}: {done} {self.unit}{pct} in {dt:.1f}s ({rate:.1f} {self.unit}/s)"
        eta = ""
        if self.total and rate > 0 and self.completed < self.total:
            eta = f", ETA {_fmt_eta((self.total - self.completed) / rate)}"
        return f"{self.description}: {done} {self.unit}{pct}, {rate:.1f} {self.unit}/s{eta}"


def _start_bar(task: Task) -> None:
    with _lock:
        if _live["progress"] is None:
            console = _settings["console"] or Console(stderr=True)
            _live["progress"] = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=console, transient=False, redirect_stderr=False, redirect_stdout=False)
            _live["progress"].start()
        _live["tasks"] += 1
        task._bar = _live["progress"]
        task._bar_id = task._bar.add_task(task.description, total=task.total, unit=task.unit)


def _stop_bar(task: Task) -> None:
    with _lock:
        bar = task._bar
        bar.update(task._bar_id, completed=task.completed, total=task.total if task.total else task.completed)
        bar.stop_task(task._bar_id)
        _live["tasks"] -= 1
        if _live["tasks"] == 0:
            bar.stop()
            _live["progress"] = None
        task._bar = None


@contextmanager
def task(description: str, total: int | None = None, unit: str = "items", plain: bool = True) -> Iterator[Task]:
    """A progress task for the block. plain=False: no plain lines when stderr is not a
    terminal (for steps that already log their own progress)."""
    t = Task(description, total, unit, plain=plain and not _settings["quiet"])
    if not _settings["quiet"] and _use_bars():
        _start_bar(t)
    try:
        yield t
    finally:
        if t._bar is not None:
            _stop_bar(t)
        elif t._plain and t.completed:
            log.info("%s", t.line(final=True))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A logging handler that writes to whatever sys.stderr is now (so that a progress display,
    or a test's captured stderr, gets the lines)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        bar = _live["progress"]
        if bar is not None:  # above the bars, not through them
            try:
                bar.console.print(self.format(record), markup=False, highlight=False)
                return
            except Exception:  # noqa: BLE001 - fall back to a plain line
                pass
        super().emit(record)


class CliFormatter(logging.Formatter):
    """`LEVEL logger: message`, with the Prefect task or flow run named instead of a bare
    `prefect.task_runs` (so "Finished in state Completed()" says which task finished)."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR and logging.getLogger().level <= logging.DEBUG:
            msg += "\n" + self.formatException(record.exc_info)
        task_name = getattr(record, "task_run_name", None)
        flow_name = getattr(record, "flow_run_name", None)
        if task_name:
            where = f"task {task_name}"
        elif flow_name:
            where = f"flow {flow_name}"
        else:
            where = record.name
        return f"{record.levelname} {where}: {msg}"


def setup_logging(level: str | int = "INFO") -> None:
    """The CLI's logging: one handler on the root logger, CliFormatter, the given level; the
    chattiest libraries at WARNING; credentials in URLs redacted from every record."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, StderrHandler) or getattr(h, "_mt_aug", False):
            root.removeHandler(h)
    handler = StderrHandler()
    handler.setFormatter(CliFormatter())
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "fsspec", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    install_log_redaction()  # no URL credentials (result_storage, PREFECT_API_URL) in any log line
