"""An opt-in Parquet export of a build, for readers that need Parquet: Croissant's
`records()` (mlcroissant reads CSV, JSON(L), Parquet and text, not Arrow IPC), Spark, DuckDB,
the Hugging Face Hub viewer. The build's Arrow stream shards stay the contract (memory-mapped
training); the export is a copy beside them:

    <out>/croissant.json                   Croissant 1.0: a record set per language / pair + the schedule
    <out>/mono/<lang>/part-00000.parquet   one row group per training batch (batch_size rows)
    <out>/cross/<q>-<p>/part-00000.parquet
    <out>/schedule.parquet                 the hybrid order (files renamed to .parquet)

Same build, same bytes (fixed writer options); files are written under a temporary name
and renamed, croissant.json last."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mt_aug.arrow_io import read_stream
from mt_aug.packing.shards import sha256_file
from mt_aug.release.card import CardError, check_against_disk, load_manifest
from mt_aug.release.croissant import PARQUET, croissant, croissant_json

FORMATS = ("parquet",)

SCHEDULE_FIELDS: dict[str, tuple[str, str]] = {
    "step": ("Training step (0-based) of the build's hybrid order.", "sc:Integer"),
    "kind": ("mono or cross.", "sc:Text"),
    "group": ("Language (mono) or query-passage language pair (cross).", "sc:Text"),
    "file": ("The Parquet file holding the batch.", "sc:Text"),
    "batch_index": ("The batch's position in its file (its row group).", "sc:Integer"),
    "batch_id": ("The batch's id (the batch_id column of its rows).", "sc:Text"),
}


class ExportError(ValueError):
    pass


def _parquet_name(path: str) -> str:
    return path.removesuffix(".arrow") + ".parquet"


def _write_parquet(table: pa.Table, path: Path, row_group_size: int) -> str:
    """Write through `<name>.tmp` and a rename; return the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=row_group_size, compression="zstd", write_statistics=False,
                   store_schema=True)
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    return digest


def export_parquet(build_dir: str | Path, out_dir: str | Path, *, verified: bool = False) -> Path:
    """Export a build's shards and schedule to Parquet with a Croissant file; return
    `<out_dir>/croissant.json`. Checks the build's files against its manifest first, unless
    the caller has just verified the build (`verified`: the build itself, after verify_build)."""
    build_dir, out_dir = Path(build_dir), Path(out_dir)
    try:
        manifest = load_manifest(build_dir)
    except CardError as exc:
        raise ExportError(str(exc)) from None
    if not verified:
        try:
            check_against_disk(build_dir, manifest)
        except CardError as exc:
            raise ExportError(f"{build_dir}: {exc}") from None
    if out_dir.resolve() == build_dir.resolve():
        raise ExportError(f"{out_dir}: the export must go to another directory than the build")
    bs = int(manifest["batch_size"])
    files: list[dict[str, Any]] = []
    for f in manifest["files"]:
        rel = _parquet_name(f["path"])
        digest = _write_parquet(read_stream(build_dir / f["path"]), out_dir / rel, bs)
        files.append({"path": rel, "sha256": digest, "rows": f["rows"], "batches": f["batches"]})
    extra = []
    sched_path = build_dir / "schedule.arrow"
    if sched_path.is_file():
        sched = read_stream(sched_path)
        renamed = pa.array([_parquet_name(p) for p in sched.column("file").to_pylist()], pa.string())
        sched = sched.set_column(sched.schema.get_field_index("file"), sched.schema.field("file"), renamed)
        digest = _write_parquet(sched, out_dir / "schedule.parquet", max(1, sched.num_rows))
        files.append({"path": "schedule.parquet", "sha256": digest, "rows": sched.num_rows, "batches": 0})
        extra.append(("schedule", "schedule.parquet",
                      f"The hybrid order of the batches (mono share {manifest['mono_ratio']}).", SCHEDULE_FIELDS))
    doc = croissant(manifest, files=files, encoding_format=PARQUET, extension="parquet", extra_record_sets=extra)
    doc["description"] += f" Parquet export of build {manifest['build_id']}."
    out = out_dir / "croissant.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(croissant_json(doc), encoding="utf-8")
    os.replace(tmp, out)
    return out


def export(build_dir: str | Path, out_dir: str | Path, fmt: str = "parquet") -> Path:
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: must be one of {', '.join(FORMATS)}")
    return export_parquet(build_dir, out_dir)
