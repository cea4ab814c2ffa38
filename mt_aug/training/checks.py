"""What opening a build checks against its manifest, file by file (`mt_aug.training.layout`
runs them): each failure is one `BuildLayoutError` line naming the file.

Always (`verify="fast"` too; they read only the small columns, never the texts):
- every path stays inside the build (`mt_aug.buildfiles.inside_build`);
- each shard's size (manifest format 4 records it), that it is a readable Arrow IPC stream,
  its schema (column names as the manifest lists them, types as `mt_aug.schema` defines them,
  no null value), its row count, whole batches of one `batch_id` each, its first and last batch
  id, that its `query_lang` / `passage_lang` are those of its folder (`mono/<lang>`,
  `cross/<q>-<p>`), and no `pair_id` or `passage_id` twice in a batch;
- the schedule: its size, steps and sha256 as the manifest records them (a small file: one row
  per batch), and every step against the shards (kind and group of its file, its batch's id),
  every batch once.

By default (`verify="full"`) also the sha256 of every shard: what catches a shard of the same
shape with other rows (copied from another build, edited in place)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.arrow_io import read_stream
from mt_aug.core.files import sha256_file
from mt_aug.packing.shards import shard_schema
from mt_aug.packing.views import MONO_MIXED
from mt_aug.schema import SCHEDULE_SCHEMA, SCHEDULE_SOURCE, SHARD_COLUMNS


class BuildLayoutError(ValueError):
    """A build directory a trainer cannot read: the message names the file or value."""


def read_arrow(path: Path) -> pa.Table:
    """An Arrow IPC stream file, memory-mapped, or one line naming it."""
    try:
        return read_stream(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BuildLayoutError(f"{path}: not a readable Arrow IPC stream (truncated or corrupt: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def check_size(path: Path, entry: dict[str, Any]) -> None:
    want = entry.get("bytes")
    if want is not None:
        got = path.stat().st_size
        if got != want:
            raise BuildLayoutError(f"{path}: {got} bytes, manifest.json says {want} (truncated or replaced)")


def check_sha256(path: Path, entry: dict[str, Any]) -> None:
    got = sha256_file(path)
    if got != entry["sha256"]:
        raise BuildLayoutError(f"{path}: sha256 {got[:16]}... is not manifest.json's {str(entry['sha256'])[:16]}... "
                               "(changed since the build was published)")


def _schema(path: Path, table: pa.Table, columns: Sequence[str] | None) -> None:
    names = table.schema.names
    negatives = "hard_negatives" in names
    want = shard_schema(negatives)
    if columns is not None and list(names) != list(columns):
        raise BuildLayoutError(f"{path}: columns {names} are not manifest.json's columns {list(columns)}")
    if list(names) != want.names:
        raise BuildLayoutError(f"{path}: columns {names} are not the shard columns {want.names}")
    for f in want:
        got = table.schema.field(f.name).type
        if got != f.type:
            raise BuildLayoutError(f"{path}: column {f.name!r} is {got}, shards hold {f.type}")
    for name in SHARD_COLUMNS:
        nulls = table.column(name).null_count
        if nulls:
            raise BuildLayoutError(f"{path}: column {name!r} has {nulls} null value(s)")


def _first_bad_batch(ok: np.ndarray) -> int:
    return int(np.flatnonzero(~ok)[0])


def _languages(path: Path, table: pa.Table, kind: str, group: str, bs: int, languages: set[str] | None) -> None:
    qlang, plang = table.column("query_lang"), table.column("passage_lang")
    if kind == "mono" and group == MONO_MIXED:
        same = pc.equal(qlang, plang)
        if not pc.all(same).as_py():
            row = int(np.flatnonzero(~same.to_numpy(zero_copy_only=False))[0])
            raise BuildLayoutError(f"{path}: batch {row // bs}: a mono row with query_lang != passage_lang")
        return
    want = (group, group) if kind == "mono" else tuple(group.split("-", 1))
    if len(want) != 2 or (kind == "cross" and want[0] == want[1]):
        raise BuildLayoutError(f"{path}: group {group!r} is not a {kind} group")
    if languages is not None and not set(want) <= languages:
        raise BuildLayoutError(f"{path}: group {group!r} has a language that is not one of manifest.json's "
                               f"languages {sorted(languages)}")
    for col, name, lang in ((qlang, "query_lang", want[0]), (plang, "passage_lang", want[1])):
        eq = pc.equal(col, lang)
        if not pc.all(eq).as_py():
            row = int(np.flatnonzero(~eq.to_numpy(zero_copy_only=False))[0])
            raise BuildLayoutError(f"{path}: batch {row // bs}: {name} {col[row].as_py()!r}, the file is under "
                                   f"{kind}/{group}")


def _batch_ids(path: Path, table: pa.Table, bs: int, entry: dict[str, Any]) -> list[str]:
    """The batch id of each batch of the file, checked: one id per batch of `bs` rows."""
    rows = table.num_rows
    col = table.column("batch_id")
    firsts = col.take(pa.array(np.arange(0, rows, bs, dtype=np.int64)))
    same = pc.equal(col, firsts.take(pa.array(np.repeat(np.arange(rows // bs, dtype=np.int64), bs))))
    if not pc.all(same).as_py():
        row = int(np.flatnonzero(~same.to_numpy(zero_copy_only=False))[0])
        raise BuildLayoutError(f"{path}: batch {row // bs}: rows of more than one batch_id")
    ids = firsts.to_pylist()
    for key, got in (("first_batch", ids[0] if ids else None), ("last_batch", ids[-1] if ids else None)):
        if entry.get(key) is not None and got != entry[key]:
            raise BuildLayoutError(f"{path}: {key} is {got}, manifest.json says {entry[key]}")
    return ids


def _distinct_in_batches(path: Path, table: pa.Table, bs: int, ids: list[str]) -> None:
    for name in ("pair_id", "passage_id"):
        codes = table.column(name).combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
        per_batch = np.sort(codes.reshape(-1, bs), axis=1)
        repeated = (per_batch[:, 1:] == per_batch[:, :-1]).any(axis=1)
        if repeated.any():
            b = int(np.flatnonzero(repeated)[0])
            raise BuildLayoutError(f"{path}: batch {b} ({ids[b]}): the same {name} twice (in-batch negatives "
                                   "would be false negatives)")


def _one_source(path: Path, table: pa.Table, bs: int, source: Any) -> None:
    """A file of one source (group_by: [source]): every row's `source` is the manifest entry's."""
    if not isinstance(source, str):
        raise BuildLayoutError(f"{path}: manifest.json's source {source!r} is not a source name")
    same = pc.equal(table.column("source"), source)
    if not pc.all(same).as_py():
        row = int(np.flatnonzero(~same.to_numpy(zero_copy_only=False))[0])
        raise BuildLayoutError(f"{path}: batch {row // bs}: a row of source {table.column('source')[row].as_py()!r}, "
                               f"the file holds batches of source {source!r} (group_by: [source])")


def check_shard(path: Path, entry: dict[str, Any], bs: int, *, full: bool, columns: Sequence[str] | None,
                languages: set[str] | None) -> list[str]:
    """Check one shard file against its manifest entry; return the id of each of its batches."""
    check_size(path, entry)
    if full:
        check_sha256(path, entry)
    table = read_arrow(path)
    _schema(path, table, columns)
    if table.num_rows != entry["rows"]:
        raise BuildLayoutError(f"{path}: holds {table.num_rows} rows, manifest.json says {entry['rows']}")
    _languages(path, table, entry["kind"], entry["group"], bs, languages)
    if "source" in entry:
        _one_source(path, table, bs, entry["source"])
    ids = _batch_ids(path, table, bs, entry)
    _distinct_in_batches(path, table, bs, ids)
    return ids


def read_schedule(path: Path, entry: dict[str, Any] | None) -> dict[str, list[Any]]:
    """schedule.arrow, checked against the manifest's `schedule` entry (size, steps, sha256)
    where there is one, and its own step column. Its optional `source` column (group_by:
    [source], manifest format 5) is returned too where it has one."""
    if not path.is_file():
        raise BuildLayoutError(f"{path}: missing (the sampler needs the build's schedule)")
    table = read_arrow(path)
    by_source = SCHEDULE_SOURCE.name in table.column_names
    for f in SCHEDULE_SCHEMA.append(SCHEDULE_SOURCE) if by_source else SCHEDULE_SCHEMA:
        if f.name not in table.column_names:
            raise BuildLayoutError(f"{path}: missing column {f.name!r}")
        if table.schema.field(f.name).type != f.type:
            raise BuildLayoutError(f"{path}: column {f.name!r} is {table.schema.field(f.name).type}, not {f.type}")
        if table.column(f.name).null_count:
            raise BuildLayoutError(f"{path}: column {f.name!r} has null values")
    if entry is not None:
        if table.num_rows != entry["steps"]:
            raise BuildLayoutError(f"{path}: holds {table.num_rows} steps, manifest.json says {entry['steps']}")
        check_size(path, entry)
        check_sha256(path, entry)
    steps = table.column("step").to_numpy()
    if len(steps) and not np.array_equal(steps, np.arange(len(steps))):
        raise BuildLayoutError(f"{path}: step {int(np.flatnonzero(steps != np.arange(len(steps)))[0])}: "
                               "steps are not 0, 1, 2, ... in order")
    return table.select(["kind", "group", "file", "batch_index", "batch_id"] + (["source"] if by_source else [])
                        ).to_pydict()


def check_step(where: str, i: int, step: tuple[str, str, str, int, str], entry: dict[str, Any],
               ids: list[str], source: str | None = None) -> None:
    """One scheduled batch against the shard it names (its manifest entry and batch ids);
    `source`: the schedule's source of the step (group_by: [source]), the file's."""
    kind, group, file, idx, bid = step
    if not 0 <= idx < len(ids):
        raise BuildLayoutError(f"{where}: step {i}: batch_index {idx} is out of range for {file} ({len(ids)} batches)")
    if kind not in ("mono", "cross"):
        raise BuildLayoutError(f"{where}: step {i}: kind {kind!r} is not mono or cross")
    if (kind, group) != (entry["kind"], entry["group"]):
        raise BuildLayoutError(f"{where}: step {i}: {kind} {group}, but {file} holds {entry['kind']} "
                               f"{entry['group']} batches")
    if bid != ids[idx]:
        raise BuildLayoutError(f"{where}: step {i}: batch_id {bid}, but batch {idx} of {file} is {ids[idx]}")
    if source is not None and source != entry.get("source"):
        raise BuildLayoutError(f"{where}: step {i}: source {source!r}, but {file} holds batches of "
                               f"{'source ' + repr(entry['source']) if 'source' in entry else 'no one source'}")

