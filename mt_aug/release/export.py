"""An opt-in Parquet export of a build, for readers that need Parquet: Croissant's
`records()` (mlcroissant reads CSV, JSON(L), Parquet and text, not Arrow IPC), Spark, DuckDB,
the Hugging Face Hub viewer. The build's Arrow stream shards stay the contract (memory-mapped
training); the export is a copy beside them:

    <out>/croissant.json                   Croissant 1.0: a record set per language / pair + the schedule
    <out>/mono/<lang>/part-00000.parquet   one row group per training batch (batch_size rows)
    <out>/cross/<q>-<p>/part-00000.parquet
    <out>/schedule.parquet                 the hybrid order (files renamed to .parquet)

Same build, same bytes (fixed writer options); files are written under a temporary name
and renamed, croissant.json last. Every file read is checked against the manifest first (a
tampered shard or schedule is refused, never re-published with a fresh checksum); the output
folder must be new or empty and outside the build, and nothing is written outside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mt_aug.arrow_io import read_stream
from mt_aug.buildfiles import inside_build
from mt_aug.core.files import sha256_file
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


def _check_output(build_dir: Path, out_dir: Path) -> bool:
    """Refuse an output folder that holds anything, is inside the build or holds it; return
    whether it exists (else the export creates it)."""
    build, out = build_dir.resolve(), out_dir.resolve()
    if out == build or build in out.parents:
        raise ExportError(f"{out_dir}: inside the build {build_dir} (the export must go to another directory than "
                          "the build: a published build is never written into)")
    if out in build.parents:
        raise ExportError(f"{out_dir}: holds the build {build_dir} (export to a new or empty directory)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: not a directory")
    if out_dir.is_dir():
        if any(out_dir.iterdir()):
            raise ExportError(f"{out_dir}: not empty (export to a new or empty directory: files left from another "
                              "export would be read with this one's)")
        return True
    return False


def _check_inputs(build_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Every file the export reads against the manifest (shards: checked with the card's
    check; the schedule: its size and sha256); the manifest's schedule entry."""
    try:
        check_against_disk(build_dir, manifest)
    except CardError as exc:
        raise ExportError(f"{build_dir}: {exc}") from None
    sched = manifest.get("schedule")
    if not sched:
        return None
    path = inside_build(build_dir, sched["path"], ExportError, f"{build_dir / 'manifest.json'}: schedule.path")
    if not path.is_file():
        raise ExportError(f"{build_dir}: {sched['path']}: listed in manifest.json but missing")
    if sched.get("bytes") is not None and path.stat().st_size != sched["bytes"]:
        raise ExportError(f"{build_dir}: {sched['path']}: {path.stat().st_size} bytes, manifest.json says "
                          f"{sched['bytes']}")
    if sha256_file(path) != sched["sha256"]:
        raise ExportError(f"{build_dir}: {sched['path']}: sha256 differs from manifest.json (edited since the build "
                          "was published: not exported)")
    return dict(sched)


def export_parquet(build_dir: str | Path, out_dir: str | Path, *, verified: bool = False) -> Path:
    """Export a build's shards and schedule to Parquet with a Croissant file; return
    `<out_dir>/croissant.json`. Checks every file it reads against the build's manifest first
    (sizes, sha256, rows), unless the caller has just verified the build (`verified`: the build
    itself, after verify_build). `out_dir` must be new or empty and outside the build; every
    path written is the manifest's (checked to stay inside the build) under `out_dir`; on any
    failure what was written is removed."""
    build_dir, out_dir = Path(build_dir), Path(out_dir)
    if not build_dir.is_dir():
        raise ExportError(f"{build_dir}: no such build folder" if not build_dir.exists()
                          else f"{build_dir}: not a build folder (not a directory)")
    try:
        manifest = load_manifest(build_dir)
    except CardError as exc:
        raise ExportError(str(exc)) from None
    for i, f in enumerate(manifest["files"]):
        inside_build(build_dir, f["path"], ExportError, f"{build_dir / 'manifest.json'}: files[{i}].path")
    existed = _check_output(build_dir, out_dir)
    sched = _check_inputs(build_dir, manifest) if not verified else manifest.get("schedule")
    try:
        return _write(build_dir, out_dir, manifest, sched)
    except BaseException:
        if existed:
            for child in out_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        else:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _write(build_dir: Path, out_dir: Path, manifest: dict[str, Any], sched: dict[str, Any] | None) -> Path:
    bs = int(manifest["batch_size"])
    files: list[dict[str, Any]] = []
    for f in manifest["files"]:
        rel = _parquet_name(f["path"])
        digest = _write_parquet(read_stream(build_dir / f["path"]), out_dir / rel, bs)
        files.append({"path": rel, "sha256": digest, "rows": f["rows"], "batches": f["batches"]})
    extra = []
    if sched:
        table = read_stream(build_dir / sched["path"])
        renamed = pa.array([_parquet_name(p) for p in table.column("file").to_pylist()], pa.string())
        table = table.set_column(table.schema.get_field_index("file"), table.schema.field("file"), renamed)
        digest = _write_parquet(table, out_dir / "schedule.parquet", max(1, table.num_rows))
        files.append({"path": "schedule.parquet", "sha256": digest, "rows": table.num_rows, "batches": 0})
        fields = SCHEDULE_FIELDS | ({"source": ("The one source of the batch's rows (batching.group_by: [source]).",
                                                "sc:Text")} if "source" in table.column_names else {})
        extra.append(("schedule", "schedule.parquet",
                      f"The hybrid order of the batches (mono share {manifest['mono_ratio']}).", fields))
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
