"""Reading a build the way a trainer does: whole batches, in the hybrid schedule's order."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

_OPEN_FILES = 64  # the schedule interleaves groups: keep recently used files mapped


def _stream(path: Path) -> list[pa.RecordBatch]:
    """Memory-mapped: the record batches point into the OS page cache, not the heap."""
    return list(pa.ipc.open_stream(pa.memory_map(str(path), "r")))


def read_batches(
    build_dir: str | Path,
    kind: Literal["mono", "cross"] | None = None,
    *,
    as_dicts: bool = False,
) -> Iterator[pa.RecordBatch | dict[str, list[Any]]]:
    """Yield every training batch of a build in schedule order (optionally one kind only).

    Each item is one Arrow record batch of exactly `batch_size` rows (or a dict of columns)."""
    build_dir = Path(build_dir)
    with pa.OSFile(str(build_dir / "schedule.arrow"), "rb") as f:
        schedule = pa.ipc.open_stream(f).read_all().to_pydict()
    files: OrderedDict[str, list[pa.RecordBatch]] = OrderedDict()
    for k, file, idx in zip(schedule["kind"], schedule["file"], schedule["batch_index"], strict=True):
        if kind is not None and k != kind:
            continue
        if file not in files:
            files[file] = _stream(build_dir / file)
            if len(files) > _OPEN_FILES:
                files.popitem(last=False)
        files.move_to_end(file)
        rb = files[file][idx]
        yield rb.to_pydict() if as_dicts else rb
