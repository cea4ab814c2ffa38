"""Files: the sha256 of one, and an OSError that names the file it happened to."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def named(exc: OSError, path: str | Path) -> OSError:
    """`exc` with the file it happened to (a write that fails midway, e.g. ENOSPC, names none)."""
    if exc.filename is not None or exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
