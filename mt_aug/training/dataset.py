"""`train_dataset(build_dir)`: every row of a build as one memory-mapped `datasets.Dataset`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import datasets
from datasets.features.features import require_decoding
from datasets.table import ConcatenationTable, MemoryMappedTable

from mt_aug.arrow_io import read_stream
from mt_aug.training.layout import BuildLayoutError, load_layout


def _contiguous(key: Any, n: int) -> range | None:
    """`key` as a range when it is a list of consecutive row indices (a packed batch)."""
    if type(key) is not list or not key or type(key[0]) is not int:
        return None
    first, last = key[0], key[-1]
    if first < 0 or last >= n or last - first != len(key) - 1 or key != list(range(first, last + 1)):
        return None
    return range(first, last + 1)


class BuildDataset(datasets.Dataset):
    """A `datasets.Dataset` that reads a list of consecutive row indices (what
    `HybridBatchSampler` yields: one packed batch) as one slice of the memory-mapped table
    instead of `datasets`' row-by-row gather, and, in the default Python format with
    nothing to decode (the shards' plain columns), straight to Python lists (what the
    Python formatter would return). Every other key, format, or a dataset with an indices
    mapping (after shuffle/select) goes the usual way."""

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        if self._indices is None:
            r = _contiguous(key, self.num_rows)
            if r is not None:
                if self._plain():
                    return self._data.fast_slice(r.start, len(r)).to_pydict()
                key = r
        return super().__getitem__(key)

    def _plain(self) -> bool:
        return (self._format_type is None and self._format_columns is None and not self._format_kwargs
                and not any(require_decoding(f) for f in self._info.features.values()))


def train_dataset(build_dir: str | Path) -> datasets.Dataset:
    """Every row of the build once, in manifest file order, memory-mapped from the shards
    (nothing is copied into the datasets cache). Columns as in the shards; the row indices
    are the ones `HybridBatchSampler` yields. Keep only text columns with `select_columns`
    (rows stay where they are); do not shuffle, filter or sort it."""
    layout = load_layout(build_dir)
    if not layout.files:
        raise BuildLayoutError(f"{layout.build_dir / 'manifest.json'}: lists no shard files")
    tables = [_mapped(layout.build_dir / f) for f in layout.files]
    table = tables[0] if len(tables) == 1 else ConcatenationTable.from_tables(tables)
    if table.num_rows != layout.num_rows:
        raise BuildLayoutError(f"{layout.build_dir}: the shards hold {table.num_rows} rows, "
                               f"manifest.json says {layout.num_rows}")
    fingerprint = hashlib.sha256(f"mt-aug train_dataset {layout.build_dir}".encode()).hexdigest()[:16]
    return BuildDataset(table, fingerprint=fingerprint)


def _mapped(path: Path) -> MemoryMappedTable:
    """One shard, memory-mapped, with the nullable schema `datasets` expects: cast by Arrow in
    one call rather than by `datasets`, which casts chunk by chunk in Python (12 s for 1M rows
    in builds before format 3, one chunk per training batch; one chunk per file since). The cast is recorded as a replay, so a pickled copy
    (a DataLoader worker) re-opens the file and casts the same way."""
    table = read_stream(path)
    schema = datasets.Features.from_arrow_schema(table.schema).arrow_schema
    return MemoryMappedTable(table.cast(schema), str(path), replays=[("cast", (schema,), {})])
