"""The pairs table (PAIRS_SCHEMA) as the stages share it: what a drop names of a row
(`row_labels`), dictionaries compacted after a filter (`compact`), duplicates dropped
(`dedup`), and rows as QAPairs (`pairs_of`: tests and small inputs)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mt_aug.normalize import normalize_text
from mt_aug.schema import PAIRS_SCHEMA, Drop, QAPair


def compact(table: pa.Table, columns: tuple[str, ...] = ("passage_title", "passage")) -> pa.Table:
    """Re-encode dictionary columns so their dictionaries hold only values some row uses (after
    a filter), keeping the values' order."""
    for name in columns:
        arr = table.column(name).combine_chunks()
        codes = np.asarray(arr.indices, dtype=np.int64)
        used = np.unique(codes)
        if len(used) == len(arr.dictionary):
            continue
        remapped = pa.array(np.searchsorted(used, codes).astype(np.int32), pa.int32())
        new = pa.DictionaryArray.from_arrays(remapped, arr.dictionary.take(pa.array(used)))
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), new)
    return table


def dedup(pairs: pa.Table) -> tuple[np.ndarray, list[Drop]]:
    """Keep the first of pairs that ask the same normalized question of the same passage (in
    any source), or that repeat a pair_id. Runs after decontamination, so an eval question
    asked twice is reported as contaminated both times. Returns (keep mask, drops)."""
    seen: dict[tuple[str, str], str] = {}
    seen_ids: set[str] = set()
    keep = np.ones(pairs.num_rows, dtype=bool)
    drops: list[Drop] = []
    cols = [pairs.column(k).to_pylist() for k in ("source", "id", "pair_id", "passage_id", "question")]
    for i, (source, rid, pair_id, pid, question) in enumerate(zip(*cols, strict=True)):
        key = (pid, normalize_text(question))
        if key in seen or pair_id in seen_ids:
            why, of = ("duplicate", seen[key]) if key in seen else ("duplicate id", pair_id)
            drops.append(Drop("dedup", source, rid, why, detail={"duplicate_of": of}))
            keep[i] = False
            continue
        seen[key] = pair_id
        seen_ids.add(pair_id)
    return keep, drops


def pairs_of(table: pa.Table) -> list[QAPair]:
    """The rows of a pairs table as QAPairs (for tests and small inputs; stages use columns)."""
    negs = table.column("hard_negatives").to_pylist() if "hard_negatives" in table.column_names else None
    out = []
    for i, row in enumerate(table.select(list(PAIRS_SCHEMA.names)).to_pylist()):
        out.append(QAPair(row["source"], row["id"], row["question"], row["passage_title"], row["passage"],
                          tuple(row["answers"]), row["pair_id"], row["passage_id"],
                          tuple((n["title"], n["text"]) for n in negs[i]) if negs else (), row["answer_start"]))
    return out


def row_labels(pairs: pa.Table, rows: list[int]) -> tuple[list[str], list[str]]:
    """(source, id) of some rows of a pairs table: what a drop names."""
    idx = pa.array(rows, pa.int64())
    return pairs.column("source").take(idx).to_pylist(), pairs.column("id").take(idx).to_pylist()
