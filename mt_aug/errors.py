"""Errors a user can cause, phrased as one line: `<path>: <what> (<errno text>)`.

Every command of the CLI turns these (and an OSError nobody phrased) into
`mt-aug: error: <message>` and exit status 2, never a traceback. Library code that touches
the file system says what it was doing with `io_errors(what, path)`; `check_writable_dir`
is what `validate` (and a build, before any work) runs on `output_dir` and `cache_dir`.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class UserError(Exception):
    """A problem the user can fix; str() is the one line after `mt-aug: error: `."""


# What an OSError means when the code that met it did not say what it was doing.
_WHAT = {
    errno.ENOSPC: "cannot write: the disk is full",
    errno.EDQUOT: "cannot write: over the disk quota",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "cannot write: read-only file system",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "a path component is not a directory",
    errno.EISDIR: "is a directory",
    errno.EEXIST: "exists and is not a directory",  # mkdir(exist_ok=True) over a file
}


def os_error_message(exc: OSError, what: str | None = None, path: str | Path | None = None) -> str:
    """`<path>: <what> (<errno text>)` of an OSError."""
    where = path if path is not None else (exc.filename if exc.filename is not None else "?")
    text = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__
    if what is None:
        what = _WHAT.get(exc.errno or 0, "cannot read or write")
    return f"{where}: {what} ({text})"


@contextmanager
def io_errors(what: str, path: str | Path | None = None) -> Iterator[None]:
    """Re-raise an OSError inside the block as a UserError saying what failed where."""
    try:
        yield
    except OSError as exc:
        raise UserError(os_error_message(exc, what, path)) from exc


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable_dir(path: Path, key: str) -> None:
    """A directory that exists and is writable, or can be created: else UserError naming the
    config key. Nothing is created; an existing directory is probed with a temporary file
    (which is what counts on read-only mounts and for root, whom permission bits don't stop)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: {key} is not a directory ({os.strerror(errno.ENOTDIR)})")
    base = _nearest_existing(path)
    if not base.is_dir():
        raise UserError(f"{path}: {key} cannot be created: {base} is not a directory ({os.strerror(errno.ENOTDIR)})")
    if not os.access(base, os.W_OK | os.X_OK):
        what = f"{key} is not writable" if base == path else f"{key} cannot be created in {base}"
        raise UserError(f"{path}: {what} ({os.strerror(errno.EACCES)})")
    try:
        fd, probe = tempfile.mkstemp(prefix=".mt-aug-probe-", dir=base)
    except OSError as exc:
        what = f"{key} is not writable" if base == path else f"{key} cannot be created in {base}"
        raise UserError(os_error_message(exc, what, path)) from None
    os.close(fd)
    os.unlink(probe)


# Exception classes (module, name) whose str() is already a one-line message for the user.
# Looked up in sys.modules: a class whose module was never imported cannot have been raised.
_PHRASED = (
    ("mt_aug.config", "ConfigError"),
    ("mt_aug.readers", "SourceError"),
    ("mt_aug.translation.base", "BackendError"),
    ("mt_aug.translation.cache", "CacheError"),
    ("mt_aug.release.lock", "BuildLocked"),
    ("mt_aug.release.guard", "GuardFailed"),
    ("mt_aug.release.card", "CardError"),
    ("mt_aug.release.export", "ExportError"),
    ("mt_aug.training.checks", "BuildLayoutError"),
)


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message of an error the user can fix, or None for a bug (a traceback)."""
    if isinstance(exc, UserError):
        return str(exc)
    for module, name in _PHRASED:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return str(exc).splitlines()[0] if str(exc) else name
    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, RuntimeError) and str(exc).startswith("Timed out while attempting to connect to ephemeral "
                                                            "Prefect API server"):
        return ("Prefect: the temporary API server did not start in time (a busy machine?); raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, point PREFECT_API_URL at a running server, "
                "or build without Prefect: --executor local")
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in str(exc) or "disk is full" in str(exc)):
        return f"translation cache: {exc}"
    return None
