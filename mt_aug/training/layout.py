"""Where each training batch of a build lies in `train_dataset(build_dir)`: read once from
`manifest.json` and `schedule.arrow`, every shard checked against the manifest
(`mt_aug.training.checks`: sizes and sha256 by default, schema, batch ids, languages and the
schedule always), and kept as arrays.

Rows of the training dataset are the build's shard files concatenated in manifest order, so
batch `i` of file `f` is rows `offset(f) + i * batch_size` .. `+ batch_size`."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from mt_aug.arrow_io import read_stream
from mt_aug.buildfiles import MANIFEST, inside_build, read_manifest
from mt_aug.training.checks import BuildLayoutError, check_shard, check_step, read_schedule

__all__ = ["VERIFY_MODES", "BuildLayout", "BuildLayoutError", "Verify", "batch_keys", "load_layout"]

Verify = Literal["full", "fast"]
VERIFY_MODES: tuple[str, ...] = ("full", "fast")


@dataclass(frozen=True)
class BuildLayout:
    build_dir: Path
    batch_size: int
    mono_ratio: float  # the build's share of mono batches (the schedule's)
    seed: int
    files: tuple[str, ...]  # shard files relative to build_dir, in dataset row order
    num_rows: int
    groups: tuple[str, ...]  # "mono/<lang>", "cross/<q>-<p>": one code per kind and group
    manifest_sha256: str  # of manifest.json's bytes: the build's content (every file's sha256 is in it)
    # One entry per scheduled batch, in schedule order (the build's epoch 0):
    start: np.ndarray  # int64, first row in the training dataset
    is_mono: np.ndarray  # bool
    group: np.ndarray  # int32, index into groups
    file: np.ndarray  # int32, index into files
    index: np.ndarray  # int64, the batch's position in its file
    batch_id: tuple[str, ...]
    # group_by: [source] (the schedule's `source` column): each batch's source, an index into sources
    source: np.ndarray | None = None
    sources: tuple[str, ...] = ()

    @property
    def num_batches(self) -> int:
        return len(self.start)


def _check_mode(verify: Any) -> str:
    if verify not in VERIFY_MODES:
        raise BuildLayoutError(f"verify={verify!r}: must be 'full' (sizes and sha256 of every file, the default) "
                               "or 'fast' (sizes, schema, batch ids, languages, schedule)")
    return str(verify)


def _stat(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# Layouts checked in this process, by build folder: (files' stat signature, "full" | "fast",
# layout). `train_dataset` and `HybridBatchSampler` open the same build one after the other;
# the second reuses the first's checks while no file has changed since (inode, size,
# modification and change times: a write changes the change time, which no tool can set back).
_CHECKED: dict[Path, tuple[tuple[Any, ...], str, BuildLayout]] = {}
_LOCK = threading.Lock()


def load_layout(build_dir: str | Path, verify: Verify = "full") -> BuildLayout:
    """Read and check a build against its manifest (a `current` link is resolved once, here).

    `verify="full"` (the default) also compares every shard's sha256 with the manifest;
    `"fast"` skips that (the rest is always checked). Raises BuildLayoutError naming the file."""
    mode = _check_mode(verify)
    build_dir = Path(build_dir).resolve()
    if not build_dir.is_dir():
        raise BuildLayoutError(f"{build_dir}: not a directory")
    m = read_manifest(build_dir, ("batch_size", "mono_ratio", "files"), BuildLayoutError, " (not an mt-aug build?)")
    mpath = build_dir / MANIFEST
    entries: dict[str, tuple[int, dict[str, Any], Path]] = {}
    for i, f in enumerate(m["files"]):
        path = inside_build(build_dir, f["path"], BuildLayoutError, f"{mpath}: files[{i}].path")
        if f["path"] in entries:
            raise BuildLayoutError(f"{mpath}: files[{i}]: {f['path']} is listed twice")
        if f["kind"] not in ("mono", "cross"):
            raise BuildLayoutError(f"{mpath}: files[{i}]: kind {f['kind']!r} is not mono or cross")
        if not path.is_file():
            raise BuildLayoutError(f"{path}: listed in manifest.json but missing")
        entries[f["path"]] = (i, f, path)
    sched_entry = m.get("schedule")
    sched_rel = sched_entry["path"] if sched_entry else "schedule.arrow"
    sched_path = inside_build(build_dir, sched_rel, BuildLayoutError, f"{mpath}: schedule.path")
    signature = (_stat(mpath), *(_stat(p) for _, _, p in entries.values()),
                 _stat(sched_path) if sched_path.is_file() else None)
    with _LOCK:
        done = _CHECKED.get(build_dir)
    if done is not None and done[0] == signature and (done[1] == "full" or mode == "fast"):
        return done[2]
    layout = _check(build_dir, m, entries, sched_path, sched_entry, mode)
    with _LOCK:
        _CHECKED[build_dir] = (signature, mode, layout)
    return layout


def _check(build_dir: Path, m: dict[str, Any], entries: dict[str, tuple[int, dict[str, Any], Path]],
           sched_path: Path, sched_entry: dict[str, Any] | None, mode: str) -> BuildLayout:
    mpath = build_dir / MANIFEST
    manifest_sha256 = hashlib.sha256(mpath.read_bytes()).hexdigest()
    bs = int(m["batch_size"])
    columns = m.get("columns")
    languages = set(m["languages"]) if m.get("languages") is not None else None
    offsets: dict[str, tuple[int, int]] = {}  # file -> (its index, first row)
    ids: dict[str, list[str]] = {}
    owner: dict[str, str] = {}  # batch id -> file
    row = 0
    for rel, (i, f, path) in entries.items():
        if f["rows"] != f["batches"] * bs:
            raise BuildLayoutError(f"{mpath}: {rel}: {f['rows']} rows is not {f['batches']} batches of {bs}")
        ids[rel] = check_shard(path, f, bs, full=mode == "full", columns=columns, languages=languages)
        for b, bid in enumerate(ids[rel]):
            if bid in owner:
                raise BuildLayoutError(f"{path}: batch {b} ({bid}) is also a batch of {owner[bid]}")
            owner[bid] = rel
        offsets[rel] = (len(offsets), row)
        row += f["rows"]
    sched = read_schedule(sched_path, sched_entry)
    where = str(sched_path)
    n = len(sched["file"])
    start = np.empty(n, np.int64)
    is_mono = np.empty(n, bool)
    group = np.empty(n, np.int32)
    file_ix = np.empty(n, np.int32)
    index = np.empty(n, np.int64)
    codes: dict[str, int] = {}
    seen: set[int] = set()
    step_sources = sched.get("source")
    if step_sources is None and any("source" in f for _, f, _ in entries.values()):
        raise BuildLayoutError(f"{where}: no source column, but manifest.json's files each hold one source's "
                               "batches (group_by: [source])")
    source_codes: dict[str, int] = {}
    source_ix = np.empty(n, np.int32) if step_sources is not None else None
    for i, step in enumerate(zip(sched["kind"], sched["group"], sched["file"], sched["batch_index"],
                                 sched["batch_id"], strict=True)):
        kind, grp, file, idx, _ = step
        if file not in entries:
            inside_build(build_dir, file, BuildLayoutError, f"{where}: step {i}")
            missing = "missing" if not (build_dir / file).is_file() else "not in manifest.json"
            raise BuildLayoutError(f"{where}: step {i}: file {file!r} is {missing}")
        check_step(where, i, step, entries[file][1], ids[file],
                   step_sources[i] if step_sources is not None else None)
        if source_ix is not None and step_sources is not None:
            source_ix[i] = source_codes.setdefault(step_sources[i], len(source_codes))
        fi, first = offsets[file]
        start[i] = first + idx * bs
        if start[i] in seen:
            raise BuildLayoutError(f"{where}: step {i}: batch {idx} of {file} is scheduled twice")
        seen.add(int(start[i]))
        is_mono[i] = kind == "mono"
        group[i] = codes.setdefault(f"{kind}/{grp}", len(codes))
        file_ix[i] = fi
        index[i] = idx
    total = sum(len(v) for v in ids.values())
    if n != total:
        scheduled = set(sched["batch_id"])
        unscheduled = next(bid for bid in owner if bid not in scheduled)
        raise BuildLayoutError(f"{where}: {n} steps, the shards hold {total} batches ({unscheduled} is never "
                               "scheduled)")
    for arr in (start, is_mono, group, file_ix, index, *(() if source_ix is None else (source_ix,))):
        arr.setflags(write=False)  # a layout is shared by everything that opened the build
    return BuildLayout(
        build_dir=build_dir, batch_size=bs, mono_ratio=float(m["mono_ratio"]), seed=int(m.get("seed", 0)),
        files=tuple(entries), num_rows=row, groups=tuple(codes), manifest_sha256=manifest_sha256,
        start=start, is_mono=is_mono, group=group, file=file_ix, index=index, batch_id=tuple(sched["batch_id"]),
        source=source_ix, sources=tuple(source_codes),
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


def forget_checked() -> None:
    """Drop this process's record of checked builds (the next open checks everything again)."""
    with _LOCK:
        _CHECKED.clear()

