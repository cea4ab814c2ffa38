"""Build directories and publishing: a build is assembled in a staging directory, renamed
into `builds/<id>` when complete, and `current` is switched atomically (symlink + rename).
A build that fails midway never touches `current`."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STAGING_PREFIX = ".staging-"


def builds_dir(output_dir: Path) -> Path:
    return output_dir / "builds"


def staging_dir(output_dir: Path, build_id: str) -> Path:
    d = builds_dir(output_dir) / f"{STAGING_PREFIX}{build_id}"
    if d.is_symlink() or d.exists():
        _remove(d)
    d.mkdir(parents=True)
    return d


@contextmanager
def staged(output_dir: Path, build_id: str) -> Iterator[Path]:
    """A fresh staging directory for a build, removed (with all it holds) if the block raises
    anything, Ctrl-C and a full disk included: `current` and builds/ are untouched then."""
    d = staging_dir(output_dir, build_id)
    try:
        yield d
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def finalize(output_dir: Path, staging: Path, build_id: str) -> Path:
    """Move a complete staging directory to builds/<id>."""
    final = builds_dir(output_dir) / build_id
    if final.is_symlink() or final.exists():
        _remove(final)
    os.replace(staging, final)
    return final


def switch_current(output_dir: Path, build_id: str) -> Path:
    """Point `current` at builds/<id> atomically: a new symlink renamed over the old one."""
    link = output_dir / "current"
    tmp = output_dir / f".current-{build_id}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(Path("builds") / build_id, tmp)
    os.replace(tmp, link)
    return link


def current_build(output_dir: Path) -> str | None:
    link = output_dir / "current"
    return os.readlink(link).split("/")[-1] if link.is_symlink() else None


def _remove(path: Path) -> None:
    """Remove a build folder, or only the link where a symlink stands in its place (never what
    it points at: a link in builds/ is not a build)."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def prune(output_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` complete builds (never the current one). Only real
    folders are builds: a symlink in builds/ is neither counted nor followed nor removed."""
    root = builds_dir(output_dir)
    cur = current_build(output_dir)
    removed = []
    complete = sorted(d.name for d in root.iterdir()
                      if not d.is_symlink() and d.is_dir() and not d.name.startswith("."))
    for name in complete[:-keep] if keep > 0 else complete:
        if name != cur:
            shutil.rmtree(root / name)
            removed.append(name)
    return removed


def clean_staging(output_dir: Path) -> list[str]:
    """Remove what builds that did not finish left behind (staging directories, half-made
    `current` links). Call only while holding the build lock."""
    removed = []
    root = builds_dir(output_dir)
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.name.startswith(STAGING_PREFIX):
                if d.is_symlink():
                    d.unlink(missing_ok=True)  # the link, never what it points at
                else:
                    shutil.rmtree(d, ignore_errors=True)
                removed.append(str(d))
    if output_dir.is_dir():
        for tmp in sorted(output_dir.glob(".current-*.tmp")):
            tmp.unlink(missing_ok=True)
            removed.append(str(tmp))
    return removed
