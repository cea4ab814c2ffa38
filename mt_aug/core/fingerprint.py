"""Content fingerprints of the files a build reads (sources, eval sets).

A stage's cache key holds the sha256 of every file it reads, never its size and mtime: `cp -p`,
`rsync -a` and `touch -r` keep both across an edit, and a key of them would reuse the old
file's result while the manifest names the new file. Each file is hashed once per process
and file state (streamed, 1 MiB at a time): the stage key and the manifest's `sha256` of a
build are the same computation, so the manifest records the bytes the build keyed on. The
memo is keyed on (path, size, mtime_ns, ctime_ns, inode, device) and lives in this process
only: nothing about a file's content is trusted across runs, and ctime, which no `touch` or
`cp -p` can set back, changes on every write.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

CHUNK = 1 << 20

_memo: dict[tuple[str, int, int, int, int, int], str] = {}
_lock = threading.Lock()


def _state(path: Path) -> tuple[str, int, int, int, int, int]:
    st = os.stat(path)
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def content_sha256(path: str | Path) -> str:
    """The sha256 of the file's bytes, hashed once per process while the file is unchanged.
    Raises OSError (with the file name) when it cannot be read."""
    path = Path(path).resolve()
    key = _state(path)
    with _lock:
        got = _memo.get(key)
    if got is not None:
        return got
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if _state(path) == key:  # not written while it was read: the digest is of this state
        with _lock:
            _memo[key] = digest
    return digest


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """What a stage key holds of an input file: its resolved path and the sha256 of its content
    (a file that cannot be read: its path and `missing`, so the stage runs and says why)."""
    try:
        return {"path": str(Path(path).resolve()), "sha256": content_sha256(path)}
    except OSError:
        return {"path": str(path), "missing": True}


def clear() -> None:
    """Forget every memoized digest (tests)."""
    with _lock:
        _memo.clear()


__all__ = ["clear", "content_sha256", "file_fingerprint"]
