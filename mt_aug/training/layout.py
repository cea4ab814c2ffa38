"""Where each training batch of a build lies in `train_dataset(build_dir)`: read once from
`manifest.json` and `schedule.arrow` (no shard is opened), checked, and kept as arrays.

Rows of the training dataset are the build's shard files concatenated in manifest order, so
batch `i` of file `f` is rows `offset(f) + i * batch_size` .. `+ batch_size`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mt_aug.arrow_io import read_stream
from mt_aug.schema import SCHEDULE_SCHEMA


class BuildLayoutError(ValueError):
    """A build directory a trainer cannot read: the message names the file or value."""


@dataclass(frozen=True)
class BuildLayout:
    build_dir: Path
    batch_size: int
    mono_ratio: float  # the build's share of mono batches (the schedule's)
    seed: int
    files: tuple[str, ...]  # shard files relative to build_dir, in dataset row order
    num_rows: int
    groups: tuple[str, ...]  # "mono/<lang>", "cross/<q>-<p>": one code per kind and group
    # One entry per scheduled batch, in schedule order (the build's epoch 0):
    start: np.ndarray  # int64, first row in the training dataset
    is_mono: np.ndarray  # bool
    group: np.ndarray  # int32, index into groups
    batch_id: tuple[str, ...]

    @property
    def num_batches(self) -> int:
        return len(self.start)


def _manifest(build_dir: Path) -> dict[str, Any]:
    from mt_aug.release.manifest import read_manifest

    if not build_dir.is_dir():
        raise BuildLayoutError(f"{build_dir}: not a directory")
    return read_manifest(build_dir, ("batch_size", "mono_ratio", "files"), BuildLayoutError,
                         " (not an mt-aug build?)")


def read_schedule(build_dir: Path) -> dict[str, list[Any]]:
    path = build_dir / "schedule.arrow"
    if not path.is_file():
        raise BuildLayoutError(f"{path}: missing (the sampler needs the build's schedule)")
    try:
        table = read_stream(path)
    except pa.ArrowInvalid as exc:
        raise BuildLayoutError(f"{path}: not an Arrow IPC stream: {exc}") from None
    missing = [n for n in SCHEDULE_SCHEMA.names if n not in table.column_names]
    if missing:
        raise BuildLayoutError(f"{path}: missing column {missing[0]!r}")
    return table.select(["kind", "group", "file", "batch_index", "batch_id"]).to_pydict()


def load_layout(build_dir: str | Path) -> BuildLayout:
    """Read and check the layout of a build (a `current` link is resolved once, here)."""
    build_dir = Path(build_dir).resolve()
    m = _manifest(build_dir)
    bs = int(m["batch_size"])
    offsets: dict[str, tuple[int, int]] = {}  # file -> (first row, batches)
    row = 0
    files = []
    for f in m["files"]:
        path, rows, batches = f["path"], int(f["rows"]), int(f["batches"])
        if rows != batches * bs:
            raise BuildLayoutError(f"{build_dir / 'manifest.json'}: {path}: {rows} rows is not {batches} batches of {bs}")
        if not (build_dir / path).is_file():
            raise BuildLayoutError(f"{build_dir / path}: listed in manifest.json but missing")
        offsets[path] = (row, batches)
        files.append(path)
        row += rows
    sched = read_schedule(build_dir)
    n = len(sched["file"])
    start = np.empty(n, np.int64)
    is_mono = np.empty(n, bool)
    group = np.empty(n, np.int32)
    codes: dict[str, int] = {}
    seen: set[int] = set()
    for i, (kind, grp, file, idx) in enumerate(zip(sched["kind"], sched["group"], sched["file"],
                                                   sched["batch_index"], strict=True)):
        where = offsets.get(file)
        if where is None:
            missing = "missing" if not (build_dir / file).is_file() else "not in manifest.json"
            raise BuildLayoutError(f"{build_dir / 'schedule.arrow'}: step {i}: file {file!r} is {missing}")
        if not 0 <= idx < where[1]:
            raise BuildLayoutError(f"{build_dir / 'schedule.arrow'}: step {i}: batch_index {idx} is out of range "
                                   f"for {file} ({where[1]} batches)")
        if kind not in ("mono", "cross"):
            raise BuildLayoutError(f"{build_dir / 'schedule.arrow'}: step {i}: kind {kind!r} is not mono or cross")
        start[i] = where[0] + idx * bs
        if start[i] in seen:
            raise BuildLayoutError(f"{build_dir / 'schedule.arrow'}: step {i}: batch {idx} of {file} is scheduled twice")
        seen.add(int(start[i]))
        is_mono[i] = kind == "mono"
        group[i] = codes.setdefault(f"{kind}/{grp}", len(codes))
    return BuildLayout(
        build_dir=build_dir, batch_size=bs, mono_ratio=float(m["mono_ratio"]), seed=int(m.get("seed", 0)),
        files=tuple(files), num_rows=row, groups=tuple(codes), start=start, is_mono=is_mono, group=group,
        batch_id=tuple(sched["batch_id"]),
    )


def batch_keys(layout: BuildLayout, columns: tuple[str, ...] = ("pair_id", "passage_id")) -> list[np.ndarray]:
    """Integer codes of each column (pair_id, passage_id) per scheduled batch: one array of
    shape (batches, batch_size) per column.

    Reads those columns of every shard once (memory-mapped); only multi-process ordering needs it."""
    parts: dict[str, list[pa.Array]] = {c: [] for c in columns}
    for f in layout.files:  # one array per file (builds before format 3 have a chunk per training batch)
        table = read_stream(layout.build_dir / f)
        for c in columns:
            parts[c].append(table.column(c).combine_chunks())
    rows = layout.start[:, None] + np.arange(layout.batch_size)[None, :]
    out = []
    for c in columns:
        col = pa.concat_arrays(parts[c]) if parts[c] else pa.array([], pa.string())
        codes = col.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        out.append(codes[rows])
    return out
