"""`train_dataset(build_dir)`: every row of a build as one memory-mapped `datasets.Dataset`."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import datasets
from datasets.features.features import require_decoding
from datasets.table import ConcatenationTable, MemoryMappedTable

from mt_aug.errors import os_error_message
from mt_aug.training.checks import read_arrow
from mt_aug.training.layout import BuildLayout, BuildLayoutError, Verify, load_layout


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


def train_dataset(build_dir: str | Path, *, verify: Verify = "full", cache_dir: str | Path | None = None
                  ) -> datasets.Dataset:
    """Every row of the build once, in manifest file order, memory-mapped from the shards
    (nothing is copied into the datasets cache). Columns as in the shards; the row indices
    are the ones `HybridBatchSampler` yields. Keep only text columns with `select_columns`
    (rows stay where they are); do not shuffle, filter or sort it.

    The build is checked against its manifest first (`verify`: "full", the default, also
    compares every shard's sha256; "fast" skips that: see `mt_aug.training.checks`).

    Nothing is ever written into the build: `datasets` puts the cache files of `map`,
    `filter`, `shuffle`, ... beside the dataset's first file, so the dataset reads the shards
    through symbolic links in a folder of its own, `<cache_dir>/<build name>-<key>/`
    (`cache_dir` default: `<HF_DATASETS_CACHE>/mt-aug`; key: the build's path and manifest), and
    those cache files land there."""
    layout = load_layout(build_dir, verify)
    if not layout.files:
        raise BuildLayoutError(f"{layout.build_dir / 'manifest.json'}: lists no shard files")
    tables = [_mapped(p) for p in shard_links(layout, cache_dir)]
    table = tables[0] if len(tables) == 1 else ConcatenationTable.from_tables(tables)
    if table.num_rows != layout.num_rows:
        raise BuildLayoutError(f"{layout.build_dir}: the shards hold {table.num_rows} rows, "
                               f"manifest.json says {layout.num_rows}")
    # the build's content (its manifest names every file's sha256, checked above): the same
    # build gives the same `map` cache names, another build other ones
    fingerprint = hashlib.sha256(f"mt-aug train_dataset {layout.manifest_sha256}".encode()).hexdigest()[:16]
    return BuildDataset(table, fingerprint=fingerprint)


def dataset_cache_dir(layout: BuildLayout, cache_dir: str | Path | None = None) -> Path:
    """The folder of a build's dataset: its shard links and every `datasets` cache file of it."""
    root = Path(cache_dir) if cache_dir is not None else Path(datasets.config.HF_DATASETS_CACHE) / "mt-aug"
    key = hashlib.sha256(f"{layout.build_dir}\n{layout.manifest_sha256}".encode()).hexdigest()[:16]
    return root.resolve() / f"{layout.build_dir.name}-{key}"


def shard_links(layout: BuildLayout, cache_dir: str | Path | None = None) -> list[Path]:
    """A symbolic link to each shard of the build (in `layout.files` order) in the build's
    dataset folder, created or replaced atomically (several processes may open one build)."""
    folder = dataset_cache_dir(layout, cache_dir)
    if folder == layout.build_dir or layout.build_dir in folder.parents:
        raise BuildLayoutError(f"cache_dir={cache_dir}: inside the build {layout.build_dir} (cache files would be "
                               "written into the published build)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildLayoutError(os_error_message(exc, "cannot create the dataset's cache folder (pass cache_dir=)",
                                                folder)) from None
    links = []
    for rel in layout.files:
        target = str(layout.build_dir / rel)
        link = folder / rel.replace("/", "__")
        if not (link.is_symlink() and os.readlink(link) == target):
            tmp = folder / f".{link.name}.{os.getpid()}.{threading.get_ident()}.tmp"
            try:
                tmp.unlink(missing_ok=True)
                os.symlink(target, tmp)
                os.replace(tmp, link)
            except OSError as exc:
                raise BuildLayoutError(os_error_message(exc, "cannot link the build's shard here (pass cache_dir=)",
                                                        link)) from None
        links.append(link)
    return links


def _mapped(path: Path) -> MemoryMappedTable:
    """One shard (through its link), memory-mapped, with the nullable schema `datasets` expects: cast by Arrow in
    one call rather than by `datasets`, which casts chunk by chunk in Python (12 s for 1M rows
    in builds before format 3, one chunk per training batch; one chunk per file since). The cast is recorded as a replay, so a pickled copy
    (a DataLoader worker) re-opens the file and casts the same way."""
    table = read_arrow(path)
    schema = datasets.Features.from_arrow_schema(table.schema).arrow_schema
    return MemoryMappedTable(table.cast(schema), str(path), replays=[("cast", (schema,), {})])
