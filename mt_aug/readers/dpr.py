"""DPR retriever-training JSON (NQ, TriviaQA, SQuAD as released with DPR).

A file is one JSON list of records {question, answers, positive_ctxs, negative_ctxs,
hard_negative_ctxs}, each ctx {title, text, passage_id, ...}. The first positive context is
the pair's passage; the hard negatives ride along on the QAPair as (title, text) for
trainers that use them. The file is streamed record by record (NQ train is about 8 GB).

Ids: DPR releases give records no id. A record's `id` (or `qid`) is used where a release
has one; otherwise the id is a content hash of question and passage ("h" + 16 hex), which
stays the same when the file is reordered or appended to. Drops of records that cannot be
read name them `record <index>` (0-based position in the list).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.common import Progress, answers_of, content_id, make_pair, malformed, malformed_message
from mt_aug.readers.jsonstream import iter_json_array
from mt_aug.schema import Drop, QAPair


def _ctx(ctx: Any, key: str) -> tuple[str, str] | str:
    """(title, text) of a context object, or why it is not one."""
    if not isinstance(ctx, dict):
        return f"{key}: expected an object"
    text, title = ctx.get("text"), ctx.get("title", "")
    if not isinstance(text, str):
        return f"{key}: missing or non-string key 'text'"
    if title is None:
        title = ""
    if not isinstance(title, str):
        return f"{key}: non-string key 'title'"
    return title, text


def record_pair(source: SourceConfig, ledger: Ledger, where: str, index: int, rec: Any) -> QAPair | None:
    """One DPR record -> a pair; malformed records raise (strict) or are counted."""
    rid = f"record {index}"
    if not isinstance(rec, dict):
        malformed(source, ledger, where, rid, f"expected an object, got {type(rec).__name__}")
        return None
    question = rec.get("question")
    if not isinstance(question, str):
        malformed(source, ledger, where, rid, "missing or non-string key 'question'")
        return None
    positives = rec.get("positive_ctxs")
    if not isinstance(positives, list):
        malformed(source, ledger, where, rid, "missing or non-list key 'positive_ctxs'")
        return None
    if not positives:
        ledger.reject(Drop("collect", source.name, rid, "no positive passage"))
        return None
    first = _ctx(positives[0], "positive_ctxs[0]")
    if isinstance(first, str):
        malformed(source, ledger, where, rid, first)
        return None
    answers = answers_of(rec.get("answers"))
    if answers is None:
        malformed(source, ledger, where, rid, "key 'answers': expected a list of strings")
        return None
    negatives = rec.get("hard_negative_ctxs") or []
    if not isinstance(negatives, list):
        malformed(source, ledger, where, rid, "key 'hard_negative_ctxs': expected a list")
        return None
    hard: list[tuple[str, str]] = []
    for j, ctx in enumerate(negatives):
        got = _ctx(ctx, f"hard_negative_ctxs[{j}]")
        if isinstance(got, str):
            malformed(source, ledger, where, rid, got)
            return None
        hard.append((got[0].strip(), got[1].strip()))
    title, passage = first
    own = rec.get("id", rec.get("qid"))
    rid = str(own) if isinstance(own, (str, int)) and str(own) else content_id(question.strip(), passage.strip())
    return make_pair(source, rid, question, title, passage, answers, ledger, hard_negatives=tuple(hard))


def _records(source: SourceConfig) -> Iterable[tuple[str, int, Any]]:
    """(where, index, record) of every record, or a SourceError value for a cut-off last record."""
    if source.dataset is not None:
        import datasets

        ds = datasets.load_dataset(source.dataset, source.subset, split=source.split, streaming=True)
        for i, row in enumerate(ds):
            yield f"{source.dataset}: {source.split}[{i}]", i, row
        return
    assert source.path is not None
    path = Path(source.path)
    strict = source.is_strict
    for el in iter_json_array(path, what="a DPR JSON list of records", strict_utf8=strict,
                              keep_going_at_truncation=not strict):
        where = f"{path}: record {el.index} (line {el.line})"
        if el.bad_utf8:
            yield where, el.index, SourceError(f"{where}: holds bytes that are not UTF-8")
        else:
            yield where, el.index, el.value


def read(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    progress = Progress(source.name)
    for where, index, rec in _records(source):
        ledger.read(source.name)
        progress.tick()
        if isinstance(rec, SourceError):  # only when not strict: strict reading raised already
            malformed_message(source, ledger, f"record {index}", str(rec))
            continue
        pair = record_pair(source, ledger, where, index, rec)
        if pair is not None:
            yield pair
