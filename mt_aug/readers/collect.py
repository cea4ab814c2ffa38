"""Collect: read every configured source into one Arrow table of pairs (PAIRS_SCHEMA), and
drop exact duplicates, counted.

Readers yield one QAPair at a time; the builder below turns them into columns as they
arrive (titles and passages interned: stored once however many questions they have), so
memory grows with the columns, not with per-pair Python objects."""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mt_aug.accounting import Ledger, SourceCounts
from mt_aug.config import BuildConfig
from mt_aug.normalize import normalize_text
from mt_aug.readers import get_reader
from mt_aug.schema import NEGATIVE_TYPE, PAIRS_SCHEMA, Drop, QAPair

log = logging.getLogger(__name__)

_CHUNK = 65_536  # rows per Arrow chunk of the plain string columns


class PairsBuilder:
    """QAPairs -> a PAIRS_SCHEMA table (+ hard_negatives when any pair has them)."""

    def __init__(self) -> None:
        self._cols: dict[str, list[str]] = {k: [] for k in ("source", "id", "pair_id", "passage_id", "question")}
        self._answers: list[tuple[str, ...]] = []
        self._negs: list[tuple[tuple[str, str], ...]] = []
        self._chunks: list[pa.RecordBatch] = []
        self._texts: dict[str, dict[str, int]] = {"passage_title": {}, "passage": {}}
        self._codes: dict[str, array] = {"passage_title": array("i"), "passage": array("i")}
        self._any_negs = False

    def add(self, p: QAPair) -> None:
        c = self._cols
        c["source"].append(p.source)
        c["id"].append(p.id)
        c["pair_id"].append(p.pair_id)
        c["passage_id"].append(p.passage_id)
        c["question"].append(p.question)
        self._answers.append(p.answers)
        self._negs.append(p.hard_negatives)
        self._any_negs = self._any_negs or bool(p.hard_negatives)
        for name, text in (("passage_title", p.passage_title), ("passage", p.passage)):
            seen = self._texts[name]
            code = seen.get(text)
            if code is None:
                code = seen[text] = len(seen)
            self._codes[name].append(code)
        if len(c["pair_id"]) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._cols["pair_id"]:
            return
        arrays = [pa.array(self._cols[k], pa.string()) for k in ("source", "id", "pair_id", "passage_id", "question")]
        arrays.append(pa.array([list(a) for a in self._answers], pa.list_(pa.string())))
        arrays.append(pa.array([[{"title": t, "text": x} for t, x in n] for n in self._negs], NEGATIVE_TYPE))
        self._chunks.append(pa.RecordBatch.from_arrays(
            arrays, names=["source", "id", "pair_id", "passage_id", "question", "answers", "hard_negatives"]))
        for v in self._cols.values():
            v.clear()
        self._answers.clear()
        self._negs.clear()

    def __len__(self) -> int:
        return len(self._codes["passage"])

    def finish(self) -> pa.Table:
        self._flush()
        names = ["source", "id", "pair_id", "passage_id", "question", "answers", "hard_negatives"]
        if self._chunks:
            plain = pa.Table.from_batches(self._chunks)
        else:
            plain = pa.table({n: pa.array([], NEGATIVE_TYPE if n == "hard_negatives" else
                                          pa.list_(pa.string()) if n == "answers" else pa.string()) for n in names})
        cols: dict[str, pa.ChunkedArray | pa.Array] = {k: plain.column(k) for k in names[:5]}
        for name in ("passage_title", "passage"):
            values = pa.array(list(self._texts[name]), pa.string())
            cols[name] = pa.DictionaryArray.from_arrays(pa.array(np.frombuffer(self._codes[name], dtype=np.int32)
                                                                 if len(self._codes[name]) else [], pa.int32()), values)
        cols["answers"] = plain.column("answers")
        schema = PAIRS_SCHEMA
        if self._any_negs:
            cols["hard_negatives"] = plain.column("hard_negatives")
            schema = schema.append(pa.field("hard_negatives", NEGATIVE_TYPE))
        return pa.table(cols, schema=schema)


@dataclass
class Collected:
    pairs: pa.Table  # PAIRS_SCHEMA
    counts: dict[str, SourceCounts]  # per source, after reading
    drops: list[Drop] = field(default_factory=list)  # records rejected while reading


def collect(cfg: BuildConfig) -> Collected:
    """Read all sources in config order, counting every record read, kept or rejected."""
    from mt_aug import progress

    ledger = Ledger()  # local to this stage: the readers count into it
    builder = PairsBuilder()
    for source in cfg.sources:
        t0, n0 = time.monotonic(), len(builder)
        counts = ledger.sources[source.name]
        # a bar on a terminal; no plain lines (the readers log their own every few seconds)
        with progress.task(f"read {source.name}", unit="records", plain=False) as bar:
            for i, pair in enumerate(get_reader(source.format, hub=source.dataset is not None)(source, ledger), 1):
                builder.add(pair)
                if not i & 4095:
                    bar.update(completed=counts.read)
            bar.update(completed=counts.read)
        dt = time.monotonic() - t0
        c = ledger.sources[source.name]
        log.info("collect %s: read %d, kept %d in %.1fs (%.0f records/s)", source.name, c.read, len(builder) - n0,
                 dt, c.read / max(dt, 1e-9))
    ledger.check()
    counts = {s.name: ledger.sources[s.name] for s in cfg.sources}
    return Collected(builder.finish(), counts, list(ledger.drops))


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
                          tuple((n["title"], n["text"]) for n in negs[i]) if negs else ()))
    return out
