"""Reading a build the way a trainer does: whole batches, in the hybrid schedule's order."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from mt_aug.training.checks import read_arrow
from mt_aug.training.layout import BuildLayoutError, Verify, load_layout

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
    verify: Verify = "full",
) -> Iterator[pa.RecordBatch | dict[str, list[Any]]]:
    """Yield every training batch of a build in schedule order (optionally one kind only).

    Each item is one Arrow record batch of exactly `batch_size` rows (or a dict of columns):
    batch `batch_index` of a file is its rows `batch_index * batch_size` .. `+ batch_size`.
    The build is checked against its manifest first (`verify`: as `train_dataset`'s)."""
    if kind not in (None, "mono", "cross"):
        raise BuildLayoutError(f"kind={kind!r}: must be 'mono', 'cross' or None")
    layout = load_layout(build_dir, verify)
    files: OrderedDict[int, pa.Table] = OrderedDict()
    for mono, fi, idx in zip(layout.is_mono.tolist(), layout.file.tolist(), layout.index.tolist(), strict=True):
        if kind is not None and (kind == "mono") != mono:
            continue
        if fi not in files:
            files[fi] = read_arrow(layout.build_dir / layout.files[fi])
            if len(files) > _OPEN_FILES:
                files.popitem(last=False)
        files.move_to_end(fi)
        rb = _batch(files[fi], idx, layout.batch_size)
        yield rb.to_pydict() if as_dicts else rb
