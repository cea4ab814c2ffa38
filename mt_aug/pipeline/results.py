"""Stage results as data: a typed encoder and decoder whose reading runs no code.

A cached stage result (`<cache_dir>/results/<key>.zip`, or under `result_storage`) is a zip
archive (stored, not compressed) of

- `result.json`: the format and version, then the result as a tree of tagged values: JSON
  scalars as they are, and `{"t": <type>, ...}` for a list, tuple, dict (its items as pairs,
  so keys keep their types), Drop, Segmented, EvalIndex, or a table;
- `tables/<i>.arrow`: every Arrow table of the result (the pairs, the segment lists, an eval
  index's arrays) as an Arrow IPC stream, chunks and dictionaries as they were.

Decoding knows exactly these types and refuses anything else (`UnreadableResult`): no pickle,
no class named by the file, no import. So a writable cache lets someone change the data a
build reuses (which the manifest then states as fact), never run code in it. Values round-trip
exactly (tuples stay tuples, integer keys stay integers, floats bit for bit), so a build that
reuses a result writes the bytes of one that computed it.
"""

from __future__ import annotations

import json
import math
import zipfile
from itertools import islice
from typing import IO, Any

import numpy as np
import pyarrow as pa

from mt_aug.decontamination.matcher import EvalIndex
from mt_aug.pipeline.stage import StageResult
from mt_aug.schema import Drop
from mt_aug.translation.texts import Segmented

FORMAT = "mt-aug-stage-result"
VERSION = 1
SUFFIX = ".zip"
_HEADER = "result.json"


class UnreadableResult(ValueError):
    """A stored result that is not one this code wrote (damaged, another format, a planted file)."""


# --- encoding ---------------------------------------------------------------------------------

class _Encoder:
    def __init__(self) -> None:
        self.tables: list[pa.Table] = []

    def table(self, t: pa.Table) -> dict[str, Any]:
        self.tables.append(t)
        return {"t": "table", "i": len(self.tables) - 1}

    def segments(self, groups: list[tuple[str, ...]]) -> dict[str, Any]:
        """Tuples of segments as two columns: every segment in order, and each tuple's length."""
        flat = pa.array([s for g in groups for s in g], pa.string())
        lens = pa.array(np.fromiter((len(g) for g in groups), dtype=np.int32, count=len(groups)), pa.int32())
        return {"t": "segments", "values": self.table(pa.table({"v": flat})), "lengths": self.table(pa.table({"n": lens}))}

    def value(self, v: Any) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, np.integer)):
            return int(v)  # Python's JSON keeps every digit
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return {"t": "float", "v": f.hex()} if not math.isfinite(f) else f
        if isinstance(v, list):
            if len(v) > 64 and all(type(x) is str for x in v):  # e.g. the unique segments: an Arrow column
                return {"t": "strings", "i": self.table(pa.table({"v": pa.array(v, pa.string())}))["i"]}
            return {"t": "list", "v": [self.value(x) for x in v]}
        if isinstance(v, tuple):
            return {"t": "tuple", "v": [self.value(x) for x in v]}
        if isinstance(v, dict):
            return {"t": "dict", "v": [[self.value(k), self.value(x)] for k, x in v.items()]}
        if isinstance(v, pa.Table):
            return self.table(v)
        if isinstance(v, Drop):
            return {"t": "drop", "stage": v.stage, "source": v.source, "id": v.id, "reason": v.reason,
                    "lang": v.lang, "detail": self.value(v.detail)}

        if isinstance(v, Segmented):
            rows = pa.table({"title_code": pa.array(v.title_codes, pa.int64()),
                             "passage_code": pa.array(v.passage_codes, pa.int64())})
            return {"t": "segmented", "rows": self.table(rows), "words_cut": v.words_cut,
                    "questions": self.segments(v.questions), "titles": self.segments(v.titles),
                    "passages": self.segments(v.passages)}

        if isinstance(v, EvalIndex):
            meta, tables = v.to_state()
            return {"t": "eval-index", "meta": self.value(meta),
                    "tables": {name: self.table(t) for name, t in sorted(tables.items())}}
        raise TypeError(f"cannot store a {type(v).__name__} in a stage result (only data types: see "
                        "mt_aug.pipeline.results)")


def write_result(f: IO[bytes], result: StageResult[dict[str, Any]]) -> None:
    """`result` into the (binary, writable) file `f`. TypeError for a value of no known type."""
    enc = _Encoder()
    header = {"format": FORMAT, "version": VERSION, "outputs": enc.value(dict(result.outputs)),
              "stats": enc.value(result.stats), "drops": [enc.value(d) for d in result.drops],
              "warnings": list(result.warnings)}
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(_HEADER, json.dumps(header, ensure_ascii=False, allow_nan=False))
        for i, t in enumerate(enc.tables):
            with zf.open(f"tables/{i}.arrow", "w", force_zip64=True) as dst, \
                    pa.ipc.new_stream(dst, t.schema) as w:
                w.write_table(t)


# --- decoding ---------------------------------------------------------------------------------

def _need(cond: bool, what: str) -> None:
    if not cond:
        raise UnreadableResult(what)


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.names = set(zf.namelist())

    def table(self, node: Any) -> pa.Table:
        _need(isinstance(node, dict) and node.get("t") == "table" and type(node.get("i")) is int, "not a table")
        name = f"tables/{node['i']}.arrow"
        _need(name in self.names, f"{name}: missing")
        return pa.ipc.open_stream(pa.py_buffer(self.zf.read(name))).read_all()

    def value(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        _need(isinstance(node, dict) and isinstance(node.get("t"), str), f"unknown value {type(node).__name__}")
        t = node["t"]
        if t == "float":
            return float.fromhex(node["v"])
        if t in ("list", "tuple"):
            _need(isinstance(node.get("v"), list), f"{t}: no items")
            items = [self.value(x) for x in node["v"]]
            return items if t == "list" else tuple(items)
        if t == "dict":
            _need(isinstance(node.get("v"), list) and all(isinstance(p, list) and len(p) == 2 for p in node["v"]),
                  "dict: not a list of pairs")
            return {self.key(k): self.value(x) for k, x in node["v"]}
        if t == "table":
            return self.table(node)
        if t == "strings":
            col = self.table({"t": "table", "i": node.get("i")}).column(0)
            _need(col.type == pa.string() and col.null_count == 0, "strings: not a column of strings")
            return col.to_pylist()
        if t == "drop":
            fields = [node.get(k) for k in ("stage", "source", "id", "reason", "lang")]
            _need(all(isinstance(x, str) for x in fields), "drop: fields are not strings")
            detail = self.value(node.get("detail"))
            _need(isinstance(detail, dict), "drop: detail is not a mapping")
            return Drop(*fields, detail=detail)
        if t == "segmented":
            rows = self.table(node.get("rows"))
            _need(rows.schema.names == ["title_code", "passage_code"], "segmented: bad columns")

            def codes(col: pa.ChunkedArray, n: int) -> np.ndarray:
                _need(col.type == pa.int64() and col.null_count == 0, "segmented: codes are not int64")
                arr = np.array(col.to_numpy(), dtype=np.int64)  # a writable copy, as segment_table makes
                _need(not len(arr) or (int(arr.min()) >= 0 and int(arr.max()) < n), "segmented: code out of range")
                return arr

            t_segs, p_segs = self.segments(node.get("titles")), self.segments(node.get("passages"))
            questions = self.segments(node.get("questions"))
            _need(len(questions) == rows.num_rows, "segmented: a question per pair row")
            _need(type(node.get("words_cut")) is int, "segmented: words_cut is not an integer")
            return Segmented(questions, t_segs, p_segs,
                             codes(rows.column("title_code"), len(t_segs)),
                             codes(rows.column("passage_code"), len(p_segs)), node["words_cut"])
        if t == "eval-index":
            meta = self.value(node.get("meta"))
            tables = node.get("tables")
            _need(isinstance(meta, dict) and isinstance(tables, dict), "eval-index: bad layout")
            try:
                return EvalIndex.from_state(meta, {str(k): self.table(v) for k, v in tables.items()})
            except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
                raise UnreadableResult(f"eval-index: {exc}") from None
        raise UnreadableResult(f"unknown value type {t!r}")

    def segments(self, node: Any) -> list[tuple[str, ...]]:
        _need(isinstance(node, dict) and node.get("t") == "segments", "segmented: not a segments node")
        values = self.table(node.get("values")).column(0)
        lengths = self.table(node.get("lengths")).column(0)
        _need(values.type == pa.string() and values.null_count == 0, "segments: not strings")
        _need(lengths.type == pa.int32() and lengths.null_count == 0, "segments: lengths not int32")
        n = lengths.to_numpy()
        _need(not len(n) or (int(n.min()) >= 0 and int(n.sum()) == len(values)), "segments: lengths do not add up")
        it = iter(values.to_pylist())
        return [tuple(islice(it, k)) for k in n.tolist()]

    def key(self, node: Any) -> Any:
        k = self.value(node)
        _need(isinstance(k, (str, int, float, bool, tuple)) or k is None, "dict: unhashable key")
        return k


def read_result(f: IO[bytes]) -> StageResult[dict[str, Any]]:
    """The StageResult in the (binary, seekable) file `f`; UnreadableResult if it is not one
    this code wrote."""
    try:
        with zipfile.ZipFile(f) as zf:
            _need(_HEADER in zf.namelist(), f"no {_HEADER}")
            header = json.loads(zf.read(_HEADER).decode("utf-8"))
            _need(isinstance(header, dict) and header.get("format") == FORMAT, "not an mt-aug stage result")
            _need(header.get("version") == VERSION, f"format version {header.get('version')!r}, not {VERSION}")
            dec = _Decoder(zf)
            outputs = dec.value(header.get("outputs"))
            stats = dec.value(header.get("stats"))
            drops = tuple(dec.value(d) for d in header.get("drops") or [])
            warnings = header.get("warnings") or []
    except UnreadableResult:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, json.JSONDecodeError, UnicodeDecodeError, KeyError,
            TypeError, ValueError, OverflowError, RecursionError, pa.ArrowException, EOFError) as exc:
        raise UnreadableResult(f"{type(exc).__name__}: {exc}") from None
    _need(isinstance(outputs, dict) and all(isinstance(k, str) for k in outputs), "outputs: not a mapping")
    _need(isinstance(stats, dict), "stats: not a mapping")
    _need(all(isinstance(d, Drop) for d in drops), "drops: not drops")
    _need(isinstance(warnings, list) and all(isinstance(w, str) for w in warnings), "warnings: not strings")
    return StageResult(outputs, stats, drops, tuple(warnings))


__all__ = ["FORMAT", "SUFFIX", "VERSION", "UnreadableResult", "read_result", "write_result"]
