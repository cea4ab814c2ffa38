"""SQuAD-format JSON (SQuAD 1.1 and 2.0; XQuAD and MLQA use the same shape)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.common import Progress, make_pair, malformed
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


def iter_squad_records(doc: Any, where: str) -> Iterator[tuple[str, dict[str, Any], str, str]]:
    """Yield (location, qa record, title, context) for every question of a SQuAD document.

    Raises SourceError on a wrong overall shape; a malformed *question* is yielded with its
    location and left for the caller to judge."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise SourceError(f"{where}: not SQuAD JSON: expected an object with a 'data' list at the top level")
    for ai, article in enumerate(doc["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise SourceError(f"{where}: data[{ai}]: expected an object with a 'paragraphs' list")
        title = article.get("title") or ""
        for pi, para in enumerate(article["paragraphs"]):
            loc = f"data[{ai}].paragraphs[{pi}]"
            if not isinstance(para, dict) or not isinstance(para.get("context"), str) or not isinstance(para.get("qas"), list):
                raise SourceError(f"{where}: {loc}: expected an object with a 'context' string and a 'qas' list")
            for qi, qa in enumerate(para["qas"]):
                yield f"{loc}.qas[{qi}]", qa, str(title), para["context"]


def _answers(qa: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for a in qa.get("answers") or []:
        if isinstance(a, dict) and isinstance(a.get("text"), str):
            out.append(a["text"])
    return tuple(dict.fromkeys(out))


def read(source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]:
    assert source.path is not None, "a source with `dataset` is read by the Hugging Face reader"
    path = Path(source.path)
    doc = load_json(path)
    progress = Progress(source.name)
    for loc, qa, title, context in iter_squad_records(doc, str(path)):
        ledger.read(source.name)
        progress.tick()
        if not isinstance(qa, dict):
            _malformed(source, ledger, path, loc, "", "expected an object")
            continue
        rid = qa.get("id")
        missing = [k for k in ("id", "question") if not isinstance(qa.get(k), str)]
        if missing:
            _malformed(source, ledger, path, loc, str(rid or loc), f"missing or non-string key {missing[0]!r}")
            continue
        if qa.get("is_impossible") and not source.keep_unanswerable:
            ledger.reject(Drop("collect", source.name, rid, "unanswerable"))
            continue
        pair = make_pair(source, rid, qa["question"], title, context, _answers(qa), ledger)
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
        answers = tuple(dict.fromkeys((row.get("answers") or {}).get("text") or []))
        if not answers and not source.keep_unanswerable:
            ledger.reject(Drop("collect", source.name, row["id"], "unanswerable"))
            continue
        pair = make_pair(source, row["id"], row["question"], row.get("title") or "", row["context"], answers, ledger)
        if pair is not None:
            yield pair
