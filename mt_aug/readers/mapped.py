"""Records of any shape, with `fields` naming where the question, passage and (optionally)
title, id and answers are: JSON Lines, CSV (TSV for a `.tsv` file) and Hugging Face datasets.

`fields` maps our name to the record's own: `{question: query, passage: context, id: qid}`;
a dotted name reaches into nested objects (`answers: answers.text`). Without an `id` field
the id is a content hash of question and passage ("h" + 16 hex).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.common import Progress, answers_of, content_id, json_error, make_pair, malformed
from mt_aug.schema import QAPair

_MISSING = object()


def lookup(record: dict[str, Any], name: str) -> Any:
    """record[name], or the dotted path a.b.c through nested objects; _MISSING if absent."""
    if name in record:
        return record[name]
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _own_id(source: SourceConfig, rec: dict[str, Any]) -> str | None:
    if "id" not in source.fields:
        return None
    own = lookup(rec, source.fields["id"])
    if isinstance(own, bool) or not isinstance(own, (str, int)) or not str(own).strip():
        return None
    return str(own).strip()


def record_pair(source: SourceConfig, ledger: Ledger, where: str, loc: str, rec: Any) -> QAPair | None:
    """One record -> a pair through `source.fields`; malformed records raise (strict) or are
    counted. `where` names file and record for messages; `loc` (e.g. "line 7") is the drop's
    id where the record has no id of its own."""
    if not isinstance(rec, dict):
        malformed(source, ledger, where, loc, f"expected an object, got {type(rec).__name__}")
        return None
    own = _own_id(source, rec)
    loc = own or loc
    got: dict[str, Any] = {}
    for key, name in source.fields.items():
        value = lookup(rec, name)
        if value is _MISSING:
            malformed(source, ledger, where, loc, f"missing key {name!r} (fields.{key})")
            return None
        got[key] = value
    for key in ("question", "passage", "title"):
        value = got.get(key, "")
        if value is None and key == "title":
            got[key] = ""
        elif not isinstance(value, str):
            malformed(source, ledger, where, loc,
                      f"key {source.fields[key]!r} (fields.{key}): expected a string, got {type(value).__name__}")
            return None
    answers = answers_of(got.get("answers"))
    if answers is None:
        malformed(source, ledger, where, loc,
                  f"key {source.fields['answers']!r} (fields.answers): expected a string or a list of strings")
        return None
    if "id" in got:
        if own is None:
            malformed(source, ledger, where, loc, f"key {source.fields['id']!r} (fields.id): expected a non-empty "
                      f"string or integer, got {got['id']!r}")
            return None
        rid = own
    else:
        rid = content_id(got["question"].strip(), got["passage"].strip())
    return make_pair(source, rid, got["question"], got.get("title", ""), got["passage"], answers, ledger)


def _decoded_lines(path: Path, source: SourceConfig, bad: set[int]) -> Iterator[str]:
    """The file's lines as text. A non-UTF-8 line raises (strict) or is decoded with
    replacement characters and its number added to `bad`, so its record can be dropped."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                if source.is_strict:
                    raise SourceError(f"{path}: line {lineno}: not UTF-8: byte {exc.start} of the line: "
                                      f"{exc.reason}") from None
                bad.add(lineno)
                yield raw.decode("utf-8", "replace")


def read_jsonl(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    assert source.path is not None, "a source with `dataset` is read by the Hugging Face reader"
    path = Path(source.path)
    bad: set[int] = set()
    progress = Progress(source.name)
    for lineno, line in enumerate(_decoded_lines(path, source, bad), 1):
        if not line.strip():
            continue
        ledger.read(source.name)
        progress.tick()
        where = f"{path}: line {lineno}"
        if lineno in bad:
            malformed(source, ledger, where, f"line {lineno}", "not UTF-8")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            malformed(source, ledger, where, f"line {lineno}", f"invalid JSON at column {exc.colno}: {json_error(exc)}")
            continue
        pair = record_pair(source, ledger, where, f"line {lineno}", rec)
        if pair is not None:
            yield pair


def read_csv(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    """CSV with a header row (tab-separated for a `.tsv` file); quoted fields may span lines."""
    assert source.path is not None, "a source with `dataset` is read by the Hugging Face reader"
    path = Path(source.path)
    bad: set[int] = set()
    reader = csv.reader(_decoded_lines(path, source, bad), delimiter="\t" if path.suffix == ".tsv" else ",")
    try:
        header = next(reader)
    except StopIteration:
        raise SourceError(f"{path}: empty file: expected a header row") from None
    except csv.Error as exc:
        raise SourceError(f"{path}: line 1: invalid CSV header: {exc}") from None
    for key, name in source.fields.items():
        if name not in header:
            raise SourceError(f"{path}: line 1: no column {name!r} (fields.{key}) in the header: {', '.join(header)}")
    progress = Progress(source.name)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            ledger.read(source.name)
            malformed(source, ledger, f"{path}: line {reader.line_num}", f"line {start}", f"invalid CSV: {exc}")
            last = reader.line_num
            continue
        last = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        ledger.read(source.name)
        progress.tick()
        where = f"{path}: line {start}"
        if any(n in bad for n in range(start, last + 1)):
            malformed(source, ledger, where, f"line {start}", "not UTF-8")
            continue
        if len(row) != len(header):
            rid = _own_id(source, dict(zip(header, row, strict=False))) or f"line {start}"
            malformed(source, ledger, where, rid, f"expected {len(header)} columns, got {len(row)}")
            continue
        pair = record_pair(source, ledger, where, f"line {start}", dict(zip(header, row, strict=True)))
        if pair is not None:
            yield pair


def _hf_rows(source: SourceConfig) -> Iterable[dict[str, Any]]:
    import datasets

    return datasets.load_dataset(source.dataset, source.subset, split=source.split, streaming=True)


def read_hf(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    """A Hugging Face dataset, streamed: datasets.load_dataset(dataset, subset, split=split, streaming=True)."""
    progress = Progress(source.name)
    for i, row in enumerate(_hf_rows(source)):
        ledger.read(source.name)
        progress.tick()
        loc = f"{source.split}[{i}]"
        pair = record_pair(source, ledger, f"{source.dataset}: {loc}", loc, row)
        if pair is not None:
            yield pair
