"""MS MARCO passage ranking: `queries` (qid<TAB>text), `collection` (pid<TAB>passage) and
`qrels` (`qid 0 pid rel`, whitespace separated; rel > 0 is relevant).

One pair per relevant qrels row, id `<qid>-<pid>`. The collection (8.8M passages, ~3 GB) is
never held in memory: qrels and the queries they name are read first (small), then the
collection is streamed once and each pair is yielded as soon as its passage goes by, so
pairs come in collection order and memory stays at the size of qrels + queries.

Accounting: `read` counts qrels rows, plus malformed lines of any of the three files (each
one record dropped as "malformed record", naming file and line). A relevant row whose query
or passage is absent is dropped as "missing query" / "missing passage"; rel <= 0 as "not
relevant". Collection lines no qrels row needs are checked for their column count only
(decoding millions of unused passages would cost more than the read itself).
Strict (default off for msmarco): the first problem raises SourceError instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.common import Progress, make_pair, malformed_message
from mt_aug.schema import Drop, QAPair


def _bad_line(source: SourceConfig, ledger: Ledger, path: Path, lineno: int, why: str) -> None:
    ledger.read(source.name)
    malformed_message(source, ledger, f"{path.name} line {lineno}", f"{path}: line {lineno}: {why}")


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - used in `with`
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _utf8_error(raw: bytes) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8: byte {exc.start} of the line: {exc.reason}"
    return "not UTF-8"


def _text_lines(source: SourceConfig, ledger: Ledger, path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a small TSV; undecodable lines are counted."""
    progress = Progress(source.name, what)
    with _open(path) as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            progress.tick()
            line = _decode(raw)
            if line is None:
                _bad_line(source, ledger, path, lineno, _utf8_error(raw))
                continue
            yield lineno, line


def _read_qrels(source: SourceConfig, ledger: Ledger, path: Path) -> dict[str, list[tuple[str, int]]]:
    """pid -> [(qid, qrels line)] of relevant rows; other rows counted as they are read."""
    by_pid: dict[str, list[tuple[str, int]]] = {}
    for lineno, line in _text_lines(source, ledger, path, "qrels rows"):
        cols = line.split()
        if len(cols) != 4:
            _bad_line(source, ledger, path, lineno, f"expected 4 columns (qid 0 pid rel), got {len(cols)}")
            continue
        qid, _, pid, rel = cols
        try:
            relevance = float(rel)
        except ValueError:
            _bad_line(source, ledger, path, lineno, f"relevance {rel!r} is not a number")
            continue
        ledger.read(source.name)
        if relevance <= 0:
            ledger.reject(Drop("collect", source.name, f"{qid}-{pid}", "not relevant"))
            continue
        by_pid.setdefault(pid, []).append((qid, lineno))
    return by_pid


def _read_queries(source: SourceConfig, ledger: Ledger, path: Path, needed: set[str]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for lineno, line in _text_lines(source, ledger, path, "query lines"):
        cols = line.rstrip("\r\n").split("\t")
        if len(cols) != 2:
            _bad_line(source, ledger, path, lineno, f"expected 2 tab-separated columns (qid, text), got {len(cols)}")
            continue
        if cols[0] in needed and cols[0] not in queries:
            queries[cols[0]] = cols[1]
    return queries


def _missing(source: SourceConfig, ledger: Ledger, qrels: Path, lineno: int, qid: str, pid: str, what: str,
             other: Path) -> None:
    msg = f"{qrels}: line {lineno}: {what} {qid if what == 'query' else pid} is not in {other}"
    if source.is_strict:
        raise SourceError(msg)
    ledger.reject(Drop("collect", source.name, f"{qid}-{pid}", f"missing {what}", detail={"error": msg}))


def read(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    assert source.qrels is not None and source.queries is not None and source.collection is not None
    qrels, queries_path, collection = Path(source.qrels), Path(source.queries), Path(source.collection)
    by_pid = _read_qrels(source, ledger, qrels)
    queries = _read_queries(source, ledger, queries_path, {qid for rows in by_pid.values() for qid, _ in rows})
    for pid in list(by_pid):
        rows = []
        for qid, lineno in by_pid[pid]:
            if qid in queries:
                rows.append((qid, lineno))
            else:
                _missing(source, ledger, qrels, lineno, qid, pid, "query", queries_path)
        if rows:
            by_pid[pid] = rows
        else:
            del by_pid[pid]

    progress = Progress(source.name, "collection lines")
    with _open(collection) as f:
        for lineno, raw in enumerate(f, 1):
            progress.tick()
            pid_b, tab, rest = raw.partition(b"\t")
            if not tab or b"\t" in rest:
                if raw.strip():
                    n = 1 if not tab else 2 + rest.count(b"\t")
                    _bad_line(source, ledger, collection, lineno,
                              f"expected 2 tab-separated columns (pid, passage), got {n}")
                continue
            pid = pid_b.decode("utf-8", "replace")
            rows = by_pid.pop(pid, None)
            if rows is None:
                continue
            passage = _decode(rest)
            if passage is None:
                _bad_line(source, ledger, collection, lineno, _utf8_error(rest))
                by_pid[pid] = rows  # its qrels rows are reported as missing their passage
                continue
            passage = passage.rstrip("\r\n")
            for qid, _ in rows:
                pair = make_pair(source, f"{qid}-{pid}", queries[qid], "", passage, (), ledger)
                if pair is not None:
                    yield pair
    for pid, rows in by_pid.items():
        for qid, lineno in rows:
            _missing(source, ledger, qrels, lineno, qid, pid, "passage", collection)
