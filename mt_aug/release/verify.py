"""Checking a build against its manifest and the output contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from mt_aug.schema import SCHEDULE_SCHEMA, SHARD_COLUMNS
from mt_aug.packing.shards import sha256_file
from mt_aug.packing.views import MONO_MIXED


class VerifyError(Exception):
    """A broken rule; the message names the file, the batch and the rule."""


def _read_stream(path: Path, shown: str) -> list[pa.RecordBatch]:
    try:
        with pa.OSFile(str(path), "rb") as f:
            return list(pa.ipc.open_stream(f))
    except (pa.ArrowInvalid, OSError) as exc:
        raise VerifyError(f"{shown}: not a readable Arrow IPC stream (truncated or corrupt): {exc}") from None


def check_batch(rows: dict[str, list[Any]], kind: str, batch_size: int, where: str, mixed: bool = False) -> None:
    n = len(rows["batch_id"])
    if n != batch_size:
        raise VerifyError(f"{where}: has {n} rows, batch_size is {batch_size}")
    if len(set(rows["batch_id"])) != 1:
        raise VerifyError(f"{where}: rows of more than one batch_id ({sorted(set(rows['batch_id']))[:3]})")
    pairs = list(zip(rows["query_lang"], rows["passage_lang"], strict=True))
    if kind == "mono":
        if any(q != p for q, p in pairs):
            raise VerifyError(f"{where}: mono batch has a row with query_lang != passage_lang")
        if not mixed and len({q for q, _ in pairs}) != 1:
            raise VerifyError(f"{where}: mono batch mixes languages {sorted({q for q, _ in pairs})}")
    else:
        if any(q == p for q, p in pairs):
            raise VerifyError(f"{where}: cross batch has a row with query_lang == passage_lang")
        if len(set(pairs)) != 1:
            raise VerifyError(f"{where}: cross batch mixes language pairs {sorted(set(pairs))[:3]}")
    for col in ("pair_id", "passage_id"):
        if len(set(rows[col])) != n:
            raise VerifyError(f"{where}: repeated {col} within the batch")


def verify_build(build_dir: str | Path) -> dict[str, Any]:
    """Recompute checksums and check every batch. Returns a summary; raises VerifyError."""
    build_dir = Path(build_dir)
    mpath = build_dir / "manifest.json"
    if not mpath.is_file():
        raise VerifyError(f"{mpath}: missing")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VerifyError(f"{mpath}: invalid JSON: {exc}") from None
    batch_size = manifest["batch_size"]
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(build_dir).as_posix() for p in build_dir.glob("*/*/*.arrow")}
    for extra in sorted(on_disk - listed):
        raise VerifyError(f"{extra}: shard file not listed in manifest.json")
    all_batch_ids: dict[str, tuple[str, int]] = {}
    rows_total = 0
    for entry in manifest["files"]:
        path = build_dir / entry["path"]
        if not path.is_file():
            raise VerifyError(f"{entry['path']}: listed in manifest.json but missing")
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise VerifyError(f"{entry['path']}: sha256 {digest[:16]}... != manifest {entry['sha256'][:16]}...")
        rbs = _read_stream(path, entry["path"])
        if rbs and tuple(rbs[0].schema.names[: len(SHARD_COLUMNS)]) != SHARD_COLUMNS:
            raise VerifyError(f"{entry['path']}: columns {rbs[0].schema.names} != {list(SHARD_COLUMNS)}")
        rows = sum(rb.num_rows for rb in rbs)
        if rows != entry["rows"] or len(rbs) != entry["batches"]:
            raise VerifyError(
                f"{entry['path']}: holds {rows} rows in {len(rbs)} batches, manifest says {entry['rows']} in {entry['batches']}"
            )
        for i, rb in enumerate(rbs):
            d = rb.to_pydict()
            bid = d["batch_id"][0] if d["batch_id"] else "?"
            mixed = entry["group"] == MONO_MIXED
            check_batch(d, entry["kind"], batch_size, f"{entry['path']}: batch {i} ({bid})", mixed=mixed)
            if bid in all_batch_ids:
                raise VerifyError(f"{entry['path']}: batch {i} ({bid}) also appears in {all_batch_ids[bid][0]}")
            all_batch_ids[bid] = (entry["path"], i)
            want_kind, want_group = entry["kind"], entry["group"]
            got_group = d["query_lang"][0] if want_kind == "mono" else f"{d['query_lang'][0]}-{d['passage_lang'][0]}"
            if got_group != want_group and not mixed:
                raise VerifyError(f"{entry['path']}: batch {i} ({bid}) is {got_group}, file is under {want_group}")
        rows_total += rows
    if rows_total != manifest["counts"]["rows"]:
        raise VerifyError(f"manifest.json: counts.rows {manifest['counts']['rows']} != {rows_total} rows in files")
    sched = manifest.get("schedule")
    if sched:
        _verify_schedule(build_dir, sched, all_batch_ids, manifest["mono_ratio"])
    return {"files": len(manifest["files"]), "rows": rows_total, "batches": len(all_batch_ids)}


def _verify_schedule(build_dir: Path, sched: dict[str, Any], batches: dict[str, tuple[str, int]], ratio: float) -> None:
    path = build_dir / sched["path"]
    if not path.is_file():
        raise VerifyError(f"{sched['path']}: listed in manifest.json but missing")
    if sha256_file(path) != sched["sha256"]:
        raise VerifyError(f"{sched['path']}: sha256 does not match manifest.json")
    rbs = _read_stream(path, sched["path"])
    if rbs and rbs[0].schema.names != SCHEDULE_SCHEMA.names:
        raise VerifyError(f"{sched['path']}: columns {rbs[0].schema.names} != {SCHEDULE_SCHEMA.names}")
    table = pa.Table.from_batches(rbs, schema=SCHEDULE_SCHEMA).to_pydict()
    seen: set[str] = set()
    for step, (bid, f, idx) in enumerate(zip(table["batch_id"], table["file"], table["batch_index"], strict=True)):
        if bid not in batches:
            raise VerifyError(f"{sched['path']}: step {step}: unknown batch {bid}")
        if bid in seen:
            raise VerifyError(f"{sched['path']}: step {step}: batch {bid} scheduled twice")
        if batches[bid] != (f, idx):
            raise VerifyError(f"{sched['path']}: step {step}: batch {bid} is at {batches[bid]}, schedule says {(f, idx)}")
        seen.add(bid)
    missing = set(batches) - seen
    if missing:
        raise VerifyError(f"{sched['path']}: {len(missing)} batches never scheduled, e.g. {sorted(missing)[0]}")
    kinds = table["kind"]
    if kinds:
        mono = kinds.count("mono")
        if abs(mono - ratio * len(kinds)) > 1:
            raise VerifyError(f"{sched['path']}: {mono} of {len(kinds)} batches are mono, mono_ratio {ratio} "
                              f"wants {ratio * len(kinds):.1f} (within one batch)")
        # interleaved, not blocked: every prefix keeps the ratio while both kinds last
        used = 0
        last = min(len(kinds), int(min(mono / max(ratio, 1e-9), (len(kinds) - mono) / max(1 - ratio, 1e-9))))
        for step, kind in enumerate(kinds[:last]):
            used += kind == "mono"
            if abs(used - ratio * (step + 1)) > 1:
                raise VerifyError(f"{sched['path']}: step {step}: {used} mono batches of {step + 1}, "
                                  f"mono_ratio {ratio}: the schedule is blocked, not interleaved")
