"""SQuAD-format JSON (SQuAD 1.1 and 2.0; XQuAD and MLQA use the same shape), streamed one
article at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.common import Progress, make_pair, malformed
from mt_aug.readers.jsonstream import iter_json_array
from mt_aug.schema import Drop, QAPair


def load_json(path: Path) -> Any:
    """Parse a JSON file; errors name the file and where it broke."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8: byte offset {exc.start}: {exc.reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _answers(answers: Any) -> tuple[str, ...]:
    """The distinct answer texts of a question's "answers" list (entries without a text string skipped)."""
    out = [a["text"] for a in answers if isinstance(a, dict) and isinstance(a.get("text"), str)]
    return tuple(dict.fromkeys(out)) if len(out) > 1 else tuple(out)


def _answer_start(answers: Any) -> int:
    """The offset of the first answer that has a text (the one `_answers` lists first), -1 without one."""
    for a in answers or ():
        if isinstance(a, dict) and isinstance(a.get("text"), str):
            start = a.get("answer_start")
            return start if isinstance(start, int) and not isinstance(start, bool) and start >= 0 else -1
    return -1


def read(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    """The questions of a SQuAD file, one article in memory at a time (the file is streamed).

    Raises SourceError naming the file and where for invalid JSON, a byte that is not UTF-8
    or a wrong shape (not an object with a 'data' list of articles with 'paragraphs' lists of
    objects with a 'context' string and a 'qas' list); a malformed question is handled by
    `malformed` (raise when strict, else dropped and counted)."""
    assert source.path is not None, "a source with `dataset` is read by the Hugging Face reader"
    path = Path(source.path)
    name = source.name
    keep_unanswerable = source.keep_unanswerable
    progress = Progress(name)
    for article in iter_json_array(path, what="SQuAD JSON", key="data"):
        ai, doc = article.index, article.value
        if not isinstance(doc, dict) or not isinstance(doc.get("paragraphs"), list):
            raise SourceError(f"{path}: data[{ai}]: expected an object with a 'paragraphs' list")
        title = str(doc.get("title") or "")
        for pi, para in enumerate(doc["paragraphs"]):
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) or not isinstance(para.get("qas"), list):
                raise SourceError(f"{path}: data[{ai}].paragraphs[{pi}]: expected an object with a 'context' string "
                                  "and a 'qas' list")
            context, qas = para["context"], para["qas"]
            ledger.read(name, len(qas))
            progress.tick(len(qas))
            for qi, qa in enumerate(qas):
                if not isinstance(qa, dict):
                    loc = f"data[{ai}].paragraphs[{pi}].qas[{qi}]"
                    _malformed(source, ledger, path, loc, "", "expected an object")
                    continue
                rid, question = qa.get("id"), qa.get("question")
                if not isinstance(rid, str) or not isinstance(question, str):
                    loc = f"data[{ai}].paragraphs[{pi}].qas[{qi}]"
                    missing = "id" if not isinstance(rid, str) else "question"
                    _malformed(source, ledger, path, loc, str(rid or loc), f"missing or non-string key {missing!r}")
                    continue
                if not keep_unanswerable and qa.get("is_impossible"):
                    ledger.reject(Drop("collect", name, rid, "unanswerable"))
                    continue
                answers = qa.get("answers")
                pair = make_pair(source, rid, question, title, context, _answers(answers) if answers else (), ledger,
                                 answer_start=_answer_start(answers) if isinstance(answers, list) else -1)
                if pair is not None:
                    yield pair


def _malformed(source: SourceConfig, ledger: Ledger, path: Path, loc: str, rid: str, why: str) -> None:
    malformed(source, ledger, f"{path}: {loc}", rid or loc, why)


def read_hf(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    """A Hugging Face dataset in SQuAD's columns (id, title, context, question, answers)."""
    import datasets

    ds = datasets.load_dataset(source.dataset, source.subset, split=source.split, streaming=True)
    progress = Progress(source.name)
    for i, row in enumerate(ds):
        ledger.read(source.name)
        progress.tick()
        if not all(isinstance(row.get(k), str) for k in ("id", "question", "context")):
            _malformed(source, ledger, Path(str(source.dataset)), f"{source.split}[{i}]", str(row.get("id") or ""),
                       "expected string columns id, question, context")
            continue
        spans = row.get("answers") or {}
        answers = tuple(dict.fromkeys(spans.get("text") or []))
        starts = spans.get("answer_start") or []
        if not answers and not source.keep_unanswerable:
            ledger.reject(Drop("collect", source.name, row["id"], "unanswerable"))
            continue
        pair = make_pair(source, row["id"], row["question"], row.get("title") or "", row["context"], answers, ledger,
                         answer_start=starts[0] if answers and starts and isinstance(starts[0], int) else -1)
        if pair is not None:
            yield pair
