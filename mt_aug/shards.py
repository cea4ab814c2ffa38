"""Writing batches as Arrow IPC stream files: one Arrow record batch per training batch,
whole batches per file, each file written under a temporary name and renamed."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mt_aug.batching import Batch
from mt_aug.schema import SCHEDULE_SCHEMA, SHARD_SCHEMA


@dataclass(frozen=True, slots=True)
class ShardFile:
    path: str  # relative to the build directory
    kind: str
    group: str
    rows: int
    batches: int
    sha256: str
    batch_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "group": self.group,
            "rows": self.rows,
            "batches": self.batches,
            "sha256": self.sha256,
            "first_batch": self.batch_ids[0] if self.batch_ids else None,
            "last_batch": self.batch_ids[-1] if self.batch_ids else None,
        }


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def batch_to_record_batch(batch: Batch) -> pa.RecordBatch:
    rows = batch.rows
    cols = {
        "batch_id": [batch.batch_id] * len(rows),
        "query": [v.query for v in rows],
        "query_lang": [v.query_lang for v in rows],
        "passage": [v.passage for v in rows],
        "passage_title": [v.passage_title for v in rows],
        "passage_lang": [v.passage_lang for v in rows],
        "pair_id": [v.pair.pair_id for v in rows],
        "passage_id": [v.pair.passage_id for v in rows],
        "source": [v.pair.source for v in rows],
    }
    return pa.record_batch(cols, schema=SHARD_SCHEMA)


def write_stream(path: Path, schema: pa.Schema, batches: list[pa.RecordBatch]) -> None:
    """Write an Arrow IPC stream through `<name>.tmp` and an atomic rename."""
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for rb in batches:
            writer.write_batch(rb)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_group(build_dir: Path, kind: str, group: str, batches: list[Batch], batch_size: int,
                rows_per_file: int) -> list[ShardFile]:
    """Files `<kind>/<group>/part-NNNNN.arrow`, each holding whole batches only."""
    per_file = max(1, rows_per_file // batch_size)
    out: list[ShardFile] = []
    for part, start in enumerate(range(0, len(batches), per_file)):
        chunk = batches[start : start + per_file]
        rel = Path(kind) / group / f"part-{part:05d}.arrow"
        write_stream(build_dir / rel, SHARD_SCHEMA, [batch_to_record_batch(b) for b in chunk])
        out.append(
            ShardFile(
                path=rel.as_posix(),
                kind=kind,
                group=group,
                rows=sum(len(b.rows) for b in chunk),
                batches=len(chunk),
                sha256=sha256_file(build_dir / rel),
                batch_ids=tuple(b.batch_id for b in chunk),
            )
        )
    return out


def write_schedule(build_dir: Path, order: list[Batch], files: list[ShardFile]) -> ShardFile:
    where: dict[str, tuple[str, int]] = {}
    for f in files:
        for i, bid in enumerate(f.batch_ids):
            where[bid] = (f.path, i)
    cols: dict[str, list[Any]] = {name: [] for name in SCHEDULE_SCHEMA.names}
    for step, b in enumerate(order):
        path, idx = where[b.batch_id]
        cols["step"].append(step)
        cols["kind"].append(b.kind)
        cols["group"].append(b.group)
        cols["file"].append(path)
        cols["batch_index"].append(idx)
        cols["batch_id"].append(b.batch_id)
    rb = pa.record_batch(cols, schema=SCHEDULE_SCHEMA)
    write_stream(build_dir / "schedule.arrow", SCHEDULE_SCHEMA, [rb])
    return ShardFile("schedule.arrow", "schedule", "", len(order), 0, sha256_file(build_dir / "schedule.arrow"), ())
