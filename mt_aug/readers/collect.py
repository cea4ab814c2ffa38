"""Collect: read every configured source into one Arrow table of pairs (PAIRS_SCHEMA), through
the reader of its format (`get_reader`), counting every record.

Readers yield one QAPair at a time; the builder below turns them into columns as they
arrive (titles and passages interned: stored once however many questions they have), so
memory grows with the columns, not with per-pair Python objects."""

from __future__ import annotations

import logging
import time
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from mt_aug import progress
from mt_aug.accounting import Ledger, SourceCounts
from mt_aug.config import BuildConfig
from mt_aug.readers import Reader, SourceError, dpr, mapped, msmarco, squad
from mt_aug.schema import NEGATIVE_TYPE, PAIRS_SCHEMA, Drop, QAPair

log = logging.getLogger(__name__)

_CHUNK = 65_536  # rows per Arrow chunk of the plain string columns
_NAMES = ["source", "id", "pair_id", "passage_id", "question", "answers", "answer_start", "hard_negatives"]
_ANSWERS_TYPE = pa.list_(pa.string())
_NEGATIVE_STRUCT = NEGATIVE_TYPE.value_type


class _Interner:
    """Codes 0, 1, ... for texts in order of first appearance, the texts kept as Arrow chunks,
    not Python strings (at a million SQuAD pairs, 200k passages: ~150 MB less at the peak).

    Looked up by hash: a hit is checked against the stored text, and a text whose hash is
    already another's gets its code from a dict of its own, so codes are exact."""

    def __init__(self) -> None:
        self._by_hash: dict[int, int] = {}
        self._collided: dict[str, int] = {}
        self._pending: list[str] = []  # texts not yet in _chunks
        self._chunks: list[pa.Array] = []
        self._starts: list[int] = []  # the code of each chunk's first text
        self._done = 0  # texts in _chunks

    def __len__(self) -> int:
        return self._done + len(self._pending)

    def code(self, text: str) -> int:
        h = hash(text)
        code = self._by_hash.get(h)
        if code is None:
            code = self._by_hash[h] = self._done + len(self._pending)
            self._pending.append(text)
            return code
        if self._text(code) == text:
            return code
        code = self._collided.get(text)
        if code is None:
            code = self._collided[text] = self._done + len(self._pending)
            self._pending.append(text)
        return code

    def _text(self, code: int) -> str:
        if code >= self._done:
            return self._pending[code - self._done]
        i = bisect_right(self._starts, code) - 1
        return self._chunks[i][code - self._starts[i]].as_py()  # type: ignore[no-any-return]

    def flush(self) -> None:
        if self._pending:
            self._chunks.append(pa.array(self._pending, pa.string()))
            self._starts.append(self._done)
            self._done += len(self._pending)
            self._pending.clear()

    def values(self) -> pa.Array:
        """Every text, in code order, as one array."""
        self.flush()
        if not self._chunks:
            return pa.array([], pa.string())
        return self._chunks[0] if len(self._chunks) == 1 else pa.concat_arrays(self._chunks)


class PairsBuilder:
    """QAPairs -> a PAIRS_SCHEMA table (+ hard_negatives when any pair has them).

    Per pair, `add` appends to plain lists (answers flattened, with offsets; negatives kept
    only for the pairs that have them) and interns title and passage; every `_CHUNK` pairs
    the lists become one Arrow record batch."""

    def __init__(self) -> None:
        self._strings: tuple[list[str], ...] = ([], [], [], [], [])  # source, id, pair_id, passage_id, question
        self._answers: list[str] = []  # every pair's answers, one after the other
        self._answer_ends = array("i")  # where each pair's answers end in _answers
        self._answer_starts = array("i")  # each pair's answer_start (-1: no span)
        self._negs: list[tuple[int, tuple[tuple[str, str], ...]]] = []  # (row in chunk, negatives), only non-empty
        self._chunks: list[pa.RecordBatch] = []
        self._texts = {"passage_title": _Interner(), "passage": _Interner()}
        self._codes: dict[str, array] = {"passage_title": array("i"), "passage": array("i")}
        self._any_negs = False

    def add(self, p: QAPair) -> None:
        self.extend((p,))

    def extend(self, pairs: Iterable[QAPair], *, tick: Callable[[], None] | None = None, every: int = 4096) -> None:
        """Add every pair of `pairs` (calling `tick` after each `every` pairs)."""
        source, rid, pair_id, pid, question = (c.append for c in self._strings)
        answers, answers_extend, answer_end = self._answers, self._answers.extend, self._answer_ends.append
        answer_start = self._answer_starts.append
        n_rows = self._strings[4]
        title_of, passage_of = self._texts["passage_title"].code, self._texts["passage"].code
        title_code, passage_code = self._codes["passage_title"].append, self._codes["passage"].append
        last_title = last_passage = None  # questions of one passage come in a row: skip the lookup
        tc = pc = 0
        for i, p in enumerate(pairs, 1):
            source(p.source)
            rid(p.id)
            pair_id(p.pair_id)
            pid(p.passage_id)
            question(p.question)
            if p.answers:
                answers_extend(p.answers)
            answer_end(len(answers))
            answer_start(p.answer_start)
            if p.hard_negatives:
                self._negs.append((len(n_rows) - 1, p.hard_negatives))
                self._any_negs = True
            text = p.passage_title
            if text is not last_title:
                tc, last_title = title_of(text), text
            title_code(tc)
            text = p.passage
            if text is not last_passage:
                pc, last_passage = passage_of(text), text
            passage_code(pc)
            if len(n_rows) >= _CHUNK:
                self._flush()
            if tick is not None and not i % every:
                tick()

    def _flush(self) -> None:
        n = len(self._strings[4])
        if not n:
            return
        arrays = [pa.array(c, pa.string()) for c in self._strings]
        offsets = np.zeros(n + 1, dtype=np.int32)
        offsets[1:] = np.frombuffer(self._answer_ends, dtype=np.int32)
        arrays.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(self._answers, pa.string()),
                                               type=_ANSWERS_TYPE))
        arrays.append(pa.array(np.frombuffer(self._answer_starts, dtype=np.int32).copy(), pa.int32()))
        arrays.append(self._negatives(n))
        self._chunks.append(pa.RecordBatch.from_arrays(arrays, names=_NAMES))
        for interner in self._texts.values():
            interner.flush()
        for c in self._strings:
            c.clear()
        self._answers.clear()
        del self._answer_ends[:]
        del self._answer_starts[:]
        self._negs.clear()

    def _negatives(self, n: int) -> pa.Array:
        """The chunk's hard_negatives column: empty lists but where a pair has some."""
        sizes = np.zeros(n, dtype=np.int32)
        titles: list[str] = []
        texts: list[str] = []
        for row, negs in self._negs:
            sizes[row] = len(negs)
            for title, text in negs:
                titles.append(title)
                texts.append(text)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(sizes, out=offsets[1:])
        values = pa.StructArray.from_arrays([pa.array(titles, pa.string()), pa.array(texts, pa.string())],
                                            fields=list(_NEGATIVE_STRUCT))
        return pa.ListArray.from_arrays(pa.array(offsets), values, type=NEGATIVE_TYPE)

    def __len__(self) -> int:
        return len(self._codes["passage"])

    def finish(self) -> pa.Table:
        self._flush()
        names = _NAMES
        if self._chunks:
            plain = pa.Table.from_batches(self._chunks)
        else:
            plain = pa.table({n: pa.array([], NEGATIVE_TYPE if n == "hard_negatives" else _ANSWERS_TYPE
                                          if n == "answers" else pa.int32() if n == "answer_start" else pa.string())
                              for n in names})
        cols: dict[str, pa.ChunkedArray | pa.Array] = {k: plain.column(k) for k in names[:5]}
        for name in ("passage_title", "passage"):
            values = self._texts[name].values()
            cols[name] = pa.DictionaryArray.from_arrays(pa.array(np.frombuffer(self._codes[name], dtype=np.int32)
                                                                 if len(self._codes[name]) else [], pa.int32()), values)
        cols["answers"] = plain.column("answers")
        cols["answer_start"] = plain.column("answer_start")
        schema = PAIRS_SCHEMA
        if self._any_negs:
            cols["hard_negatives"] = plain.column("hard_negatives")
            schema = schema.append(pa.field("hard_negatives", NEGATIVE_TYPE))
        return pa.table(cols, schema=schema)


def get_reader(fmt: str, hub: bool = False) -> Reader:
    """The reader of a format; `hub`: the source names a Hugging Face dataset, not a file."""
    if hub and fmt == "squad":
        return squad.read_hf
    if hub and fmt in ("jsonl", "csv", "hf"):
        return mapped.read_hf
    readers: dict[str, Reader] = {
        "squad": squad.read,
        "dpr": dpr.read,
        "msmarco": msmarco.read,
        "jsonl": mapped.read_jsonl,
        "csv": mapped.read_csv,
        "hf": mapped.read_hf,
    }
    try:
        return readers[fmt]
    except KeyError:
        raise SourceError(f"no reader for format {fmt!r} (known: {', '.join(sorted(readers))})") from None


@dataclass
class Collected:
    pairs: pa.Table  # PAIRS_SCHEMA
    counts: dict[str, SourceCounts]  # per source, after reading
    drops: list[Drop] = field(default_factory=list)  # records rejected while reading


def collect(cfg: BuildConfig) -> Collected:
    """Read all sources in config order, counting every record read, kept or rejected."""
    ledger = Ledger()  # local to this stage: the readers count into it
    builder = PairsBuilder()
    for source in cfg.sources:
        t0, n0 = time.monotonic(), len(builder)
        counts = ledger.sources[source.name]
        # a bar on a terminal; no plain lines (the readers log their own every few seconds)
        with progress.task(f"read {source.name}", unit="records", plain=False) as bar:
            builder.extend(get_reader(source.format, hub=source.dataset is not None)(source, ledger),
                           tick=lambda: bar.update(completed=counts.read))
            bar.update(completed=counts.read)
        dt = time.monotonic() - t0
        c = ledger.sources[source.name]
        log.info("collect %s: read %d, kept %d in %.1fs (%.0f records/s)", source.name, c.read, len(builder) - n0,
                 dt, c.read / max(dt, 1e-9))
    ledger.check()
    counts = {s.name: ledger.sources[s.name] for s in cfg.sources}
    return Collected(builder.finish(), counts, list(ledger.drops))
