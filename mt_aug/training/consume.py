"""Reading a build the way a trainer does: whole batches, in the hybrid schedule's order."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from mt_aug.arrow_io import read_stream

_OPEN_FILES = 64  # the schedule interleaves groups: keep recently used files mapped


def _batch(table: pa.Table, index: int, batch_size: int) -> pa.RecordBatch:
    """Training batch `index` of a shard: rows index * batch_size .. + batch_size, as one
    record batch (zero-copy when they lie in one of the file's record batches)."""
    rows = table.slice(index * batch_size, batch_size)
    parts = rows.to_batches()
    return parts[0] if len(parts) == 1 else rows.combine_chunks().to_batches()[0]


def read_batches(
    build_dir: str | Path,
    kind: Literal["mono", "cross"] | None = None,
    *,
    as_dicts: bool = False,
) -> Iterator[pa.RecordBatch | dict[str, list[Any]]]:
    """Yield every training batch of a build in schedule order (optionally one kind only).

    Each item is one Arrow record batch of exactly `batch_size` rows (or a dict of columns):
    batch `batch_index` of a file is its rows `batch_index * batch_size` .. `+ batch_size`."""
    from mt_aug.release.manifest import read_manifest
    from mt_aug.training.layout import BuildLayoutError, read_schedule

    build_dir = Path(build_dir)
    batch_size = int(read_manifest(build_dir, ("batch_size",), BuildLayoutError, " (not an mt-aug build?)")["batch_size"])
    schedule = read_schedule(build_dir)
    files: OrderedDict[str, pa.Table] = OrderedDict()
    for k, file, idx in zip(schedule["kind"], schedule["file"], schedule["batch_index"], strict=True):
        if kind is not None and k != kind:
            continue
        if file not in files:
            files[file] = read_stream(build_dir / file)
            if len(files) > _OPEN_FILES:
                files.popitem(last=False)
        files.move_to_end(file)
        rb = _batch(files[file], idx, batch_size)
        yield rb.to_pydict() if as_dicts else rb
