"""One build at a time per output_dir.

The lock is an OS advisory lock (fcntl.flock) on `<output_dir>/.build.lock`, so a process that
dies, even by SIGKILL, releases it at once: a lock is never left stuck. The file also holds
who took it (build id, pid, host, time), to name the running build in the refusal, and to
recognize a stale record (its pid is gone) left by a crashed run. Releasing removes the file
(an error, Ctrl-C or SIGTERM leaves nothing behind: while the lock is held, SIGTERM is turned
into SystemExit(143), so every context manager cleans up); `check_free` refuses a second build
before any slow start-up."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

LOCK_NAME = ".build.lock"


SIGTERM_EXIT = 128 + signal.SIGTERM  # the exit status of a build stopped by SIGTERM


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM while the lock is held: a clean exit (context managers and `finally` run, the
    lock file is removed). A second SIGTERM during that clean-up is ignored, not a half-done one."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(SIGTERM_EXIT)


class BuildLocked(RuntimeError):
    """Another build of the same output_dir is running."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BuildLock:
    def __init__(self, output_dir: Path, build_id: str) -> None:
        self.path = Path(output_dir) / LOCK_NAME
        self.build_id = build_id
        self._fd: int | None = None
        self._sigterm: Any = None  # the handler to restore on release, if we installed one
        self.stale: dict[str, Any] | None = None  # the record of a crashed run this lock replaced

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, json.JSONDecodeError):
            return {}

    def _refusal(self) -> BuildLocked:
        who = self._read()
        return BuildLocked(
            f"{self.path.parent}: build {who.get('build_id', '?')} is running (pid {who.get('pid', '?')} on "
            f"{who.get('host', '?')}, since {who.get('started_at', '?')}); one build at a time per output_dir"
        )

    def _open_locked(self) -> int:
        """An fd holding the lock on the file that is at `path` now (the file is removed on
        release: a lock taken on a file another process just unlinked is retried)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise self._refusal() from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # released and removed while we opened it: take the new one

    def acquire(self) -> BuildLock:
        fd = self._open_locked()
        previous = self._read()
        if previous.get("pid") and previous.get("host") == socket.gethostname() and not _pid_alive(int(previous["pid"])):
            self.stale = previous
        record = {"build_id": self.build_id, "pid": os.getpid(), "host": socket.gethostname(),
                  "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        if threading.current_thread() is threading.main_thread():  # signal handlers live there only
            previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
            # None from signal.signal: a handler not set from Python (the default)
            self._sigterm = signal.SIG_DFL if previous is None else previous
        return self

    def release(self) -> None:
        """Remove the lock file and unlock; safe to call twice, and after a failed write."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self.path.unlink(missing_ok=True)  # while still locked: nobody else owns this file
            except OSError:
                pass
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
                self._restore_sigterm()

    def _restore_sigterm(self) -> None:
        saved, self._sigterm = self._sigterm, None
        if saved is not None:
            signal.signal(signal.SIGTERM, saved)

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def check_free(output_dir: Path) -> None:
    """Raise BuildLocked now if a build of output_dir is running (a cheap check before slow
    start-up such as Prefect's; the build still takes the lock itself). Creates nothing."""
    lock = BuildLock(output_dir, "?")
    if not lock.path.is_file():
        return
    try:
        fd = os.open(lock.path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise lock._refusal() from None
    finally:
        os.close(fd)
