from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import DEMO_DATA, ROOT
from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.squad import read


def _read(path: Path, **kw: object) -> tuple[list, Ledger]:
    ledger = Ledger()
    pairs = list(read(SourceConfig(name="s", format="squad", path=path, **kw), ledger))
    return pairs, ledger


def test_demo_sample_reads_whole() -> None:
    pairs, ledger = _read(DEMO_DATA / "demo_squad.json")
    assert len(pairs) == 64
    assert len({p.passage_id for p in pairs}) == 16
    p = pairs[0]
    assert p.pair_id == f"s:{p.id}" and p.id == "demo-q001"
    assert p.passage_title and p.answers
    ledger.check()
    assert ledger.to_dict() == {"s": {"read": 64, "kept": 64, "dropped": {}}}


def test_squad_v2_unanswerable_dropped_unless_configured() -> None:
    path = ROOT / "tests" / "fixtures" / "squad_v2_small.json"
    pairs, ledger = _read(path)
    assert [p.id for p in pairs] == ["v2-q1", "v2-q2", "v2-q3"] or len(pairs) == 3
    assert ledger.sources["s"].dropped == {"unanswerable": 2}
    pairs, ledger = _read(path, keep_unanswerable=True)
    assert len(pairs) == 5 and not ledger.sources["s"].dropped


def _doc(tmp_path: Path, doc: object, raw: bytes | None = None) -> Path:
    p = tmp_path / "bad.json"
    p.write_bytes(raw if raw is not None else json.dumps(doc).encode())
    return p


def test_truncated_json_names_file_and_position(tmp_path: Path) -> None:
    p = _doc(tmp_path, None, raw=(DEMO_DATA / "demo_squad.json").read_bytes()[:500])
    with pytest.raises(SourceError, match=r"bad\.json: invalid JSON at line \d+, column \d+"):
        _read(p)


def test_wrong_top_level_shape(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"bad\.json: not SQuAD JSON"):
        _read(_doc(tmp_path, [1, 2, 3]))


def test_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"bad\.json: not UTF-8: byte offset 9"):
        _read(_doc(tmp_path, None, raw=b'{"data": \xff}'))


BAD_RECORD = {"data": [{"title": "T", "paragraphs": [{"context": "Some context here.", "qas": [
    {"id": "a", "question": "Fine question?", "answers": []},
    {"id": "b", "answers": []},
    {"id": "c", "question": "   ", "answers": []},
]}]}]}


def test_missing_field_names_record_strict(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"bad\.json: data\[0\]\.paragraphs\[0\]\.qas\[1\]: missing or non-string key 'question'"):
        _read(_doc(tmp_path, BAD_RECORD))


def test_missing_field_counted_when_not_strict(tmp_path: Path) -> None:
    pairs, ledger = _read(_doc(tmp_path, BAD_RECORD), strict=False)
    assert [p.id for p in pairs] == ["a"]
    c = ledger.sources["s"]
    assert (c.read, c.kept, dict(c.dropped)) == (3, 1, {"malformed record": 1, "empty question": 1})
    ledger.check()
    assert {d.id for d in ledger.drops} == {"b", "c"}
