"""Writing batches as Arrow IPC stream files: whole training batches per file, rows of a batch
contiguous (batch `i` of a file is rows `i * batch_size` .. `+ batch_size`), the file one Arrow
record batch. (One record batch per training batch, the layout before shard format 3, made
readers keep Arrow objects per training batch and column: ~6.5 KB of heap per batch, 200 MB
per million rows, and seconds to open.) Each file is written under a temporary name and
renamed. Rows are gathered from the columnar corpus one file at a time (memory bounded by rows
per file)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mt_aug.core.files import named
from mt_aug.packing.batching import Batch
from mt_aug.packing.corpus import Corpus
from mt_aug.packing.views import Views
from mt_aug.schema import NEGATIVE_TYPE, SCHEDULE_SCHEMA, SCHEDULE_SOURCE, SHARD_SCHEMA, SHARD_SOURCE_KEY


def shard_schema(with_negatives: bool) -> pa.Schema:
    return SHARD_SCHEMA.append(pa.field("hard_negatives", NEGATIVE_TYPE)) if with_negatives else SHARD_SCHEMA


@dataclass(frozen=True, slots=True)
class ShardFile:
    path: str  # relative to the build directory
    kind: str
    group: str
    rows: int
    batches: int
    sha256: str
    batch_ids: tuple[str, ...]
    bytes: int | None = None  # the file's size (manifest format 4: readers check it first)
    source: str | None = None  # group_by: [source]: the one source of its rows (manifest format 5)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "kind": self.kind,
            "group": self.group,
            "rows": self.rows,
            "batches": self.batches,
            "sha256": self.sha256,
            "first_batch": self.batch_ids[0] if self.batch_ids else None,
            "last_batch": self.batch_ids[-1] if self.batch_ids else None,
        }
        if self.bytes is not None:
            out["bytes"] = self.bytes
        if self.source is not None:
            out["source"] = self.source
        return out

    def schedule_dict(self) -> dict[str, Any]:
        """The manifest's `schedule` entry of a schedule file."""
        out: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "steps": self.rows}
        if self.bytes is not None:
            out["bytes"] = self.bytes
        return out


def _take(corpus: Corpus, lang: int, column: str, rows: np.ndarray) -> pa.Array:
    """Plain strings of one language's column at `rows` (dictionary-encoded texts decoded)."""
    got = corpus.texts[corpus.languages[lang]].column(column).take(pa.array(rows))
    if pa.types.is_dictionary(got.type):
        got = got.cast(pa.string())
    return got.combine_chunks()


def _gather(corpus: Corpus, column: str, pair: np.ndarray, lang: np.ndarray) -> pa.Array:
    """corpus.texts[languages[lang[i]]][column][pair[i]] for every row, with Arrow takes."""
    langs = np.unique(lang)
    if len(langs) == 1:
        return _take(corpus, int(langs[0]), column, pair)
    parts, where = [], []
    for li in langs:
        sel = np.flatnonzero(lang == li)
        parts.append(_take(corpus, int(li), column, pair[sel]))
        where.append(sel)
    inverse = np.empty(len(pair), dtype=np.int64)
    inverse[np.concatenate(where)] = np.arange(len(pair))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def rows_table(corpus: Corpus, views: Views, batches: list[Batch]) -> pa.Table:
    """The shard rows of whole batches, in batch order."""
    pos = np.concatenate([b.rows for b in batches]) if batches else np.zeros(0, np.int64)
    v = views.take(pos)
    sizes = [len(b.rows) for b in batches]
    names = pa.array(corpus.languages, pa.string())
    pair_idx = pa.array(v.pair)
    batch_ids = pa.array([b.batch_id for b in batches], pa.string())
    cols: dict[str, pa.Array] = {
        "batch_id": batch_ids.take(pa.array(np.repeat(np.arange(len(batches)), sizes))),
        "query": _gather(corpus, "query", v.pair, v.qlang),
        "query_lang": names.take(pa.array(v.qlang)),
        "passage": _gather(corpus, "passage", v.pair, v.plang),
        "passage_title": _gather(corpus, "title", v.pair, v.plang),
        "passage_lang": names.take(pa.array(v.plang)),
        "pair_id": corpus.pairs.column("pair_id").take(pair_idx).combine_chunks(),
        "passage_id": corpus.pairs.column("passage_id").take(pair_idx).combine_chunks(),
        "source": corpus.pairs.column("source").take(pair_idx).combine_chunks(),
    }
    if corpus.translated_negatives:
        # hard_negatives.translate > 0: each row's negatives in its passage's language
        cols["hard_negatives"] = _gather(corpus, "hard_negatives", v.pair, v.plang)
    elif corpus.has_negatives:
        # Hard negatives are English text: kept where the passage is English, empty elsewhere.
        negs = corpus.pairs.column("hard_negatives").take(pair_idx).combine_chunks()
        english = pc.equal(cols["passage_lang"], "en")
        cols["hard_negatives"] = pc.if_else(english, negs, pa.array([[]] * len(v), NEGATIVE_TYPE))
    table = pa.table(cols, schema=shard_schema(corpus.has_negatives))
    if pc.any(pc.is_null(table.column("query"))).as_py() or pc.any(pc.is_null(table.column("passage"))).as_py():
        raise AssertionError("a view points at a language where its pair has no text")  # a bug, not bad input
    return table


def write_stream(path: Path, table: pa.Table, rows_per_batch: int | None = None) -> str:
    """Write an Arrow IPC stream through `<name>.tmp` and an atomic rename; return its sha256.

    One record batch for the whole table (its chunks combined), or record batches of
    `rows_per_batch` rows.

    The stream is built in memory (one file: bounded by rows_per_file) and hashed there, so
    the file is written once and never read back. (No fsync per file: the build syncs once
    before it writes its manifest.)"""
    sink = pa.BufferOutputStream()
    if rows_per_batch is None and table.num_rows:
        table = table.combine_chunks()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows_per_batch)
    buf = sink.getvalue()
    digest = hashlib.sha256(memoryview(buf)).hexdigest()
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(tmp, "wb") as f:
            f.write(memoryview(buf))
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise named(exc, path) from None
    os.replace(tmp, path)
    return digest


def write_group(build_dir: Path, corpus: Corpus, kind: str, group: str, views: Views, batches: list[Batch],
                batch_size: int, rows_per_file: int, source: str | None = None) -> list[ShardFile]:
    """Files `<kind>/<group>/part-NNNNN.arrow`, each holding whole batches only. (Serial on
    purpose: writing on a second thread while gathering the next file measured 2x slower.)
    `source` (group_by: [source]; every batch is that source's): files
    `<kind>/<group>/part-<source>-NNNNN.arrow`, the source also in each file's schema metadata."""
    per_file = max(1, rows_per_file // batch_size)
    out: list[ShardFile] = []
    stem = "part-" if source is None else f"part-{source}-"
    for part, start in enumerate(range(0, len(batches), per_file)):
        chunk = batches[start : start + per_file]
        table = rows_table(corpus, views, chunk)
        if source is not None:
            table = table.replace_schema_metadata({SHARD_SOURCE_KEY: source})
        rel = Path(kind) / group / f"{stem}{part:05d}.arrow"
        digest = write_stream(build_dir / rel, table)  # one Arrow record batch per file
        out.append(ShardFile(rel.as_posix(), kind, group, table.num_rows, len(chunk), digest,
                             tuple(b.batch_id for b in chunk), (build_dir / rel).stat().st_size, source))
    return out


def write_schedule(build_dir: Path, order: list[Batch], files: list[ShardFile]) -> ShardFile:
    where: dict[str, tuple[str, int]] = {}
    for f in files:
        for i, bid in enumerate(f.batch_ids):
            where[bid] = (f.path, i)
    by_source = any(b.source is not None for b in order)
    schema = SCHEDULE_SCHEMA.append(SCHEDULE_SOURCE) if by_source else SCHEDULE_SCHEMA
    cols: dict[str, list[Any]] = {name: [] for name in schema.names}
    for step, b in enumerate(order):
        path, idx = where[b.batch_id]
        cols["step"].append(step)
        cols["kind"].append(b.kind)
        cols["group"].append(b.group)
        cols["file"].append(path)
        cols["batch_index"].append(idx)
        cols["batch_id"].append(b.batch_id)
        if by_source:
            cols["source"].append(b.source)
    digest = write_stream(build_dir / "schedule.arrow", pa.table(cols, schema=schema))
    return ShardFile("schedule.arrow", "schedule", "", len(order), 0, digest, (),
                     (build_dir / "schedule.arrow").stat().st_size)
