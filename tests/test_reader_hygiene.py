"""Readers against hostile input (issue 14): control characters and terminal escapes are
removed at read time and counted; text that was only control characters is an empty
question/passage; a huge valid DPR record is over the size limit, not "invalid JSON"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.readers import SourceError
from mt_aug.readers.collect import get_reader
from mt_aug.schema import QAPair


def _read(**kw: Any) -> tuple[list[QAPair], Ledger]:
    ledger = Ledger()
    source = SourceConfig(name="s", **kw)
    pairs = list(get_reader(source.format)(source, ledger))
    ledger.check()
    return pairs, ledger


def test_control_characters_are_removed_counted_and_empty_text_dropped(tmp_path: Path) -> None:
    rows = [
        {"q": "\x00\x00\x00", "p": "A passage about rivers."},  # only NULs: an empty question
        {"q": "What \x1b[31mis\x1b[0m red?", "p": "Red is a colour.\x07"},  # ANSI colour, a bell
        {"q": "Who wrote it?", "p": "\x1b]0;title\x07\x00"},  # nothing but an OSC escape and a NUL
        {"q": "Plain question?", "p": "Tabs\tand\nnewlines stay."},
    ]
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pairs, ledger = _read(format="jsonl", path=f, fields={"question": "q", "passage": "p"})
    c = ledger.sources["s"]
    assert (c.read, c.kept, dict(c.dropped)) == (4, 2, {"empty question": 1, "empty passage": 1})
    assert dict(c.normalized) == {"control characters": 3}
    assert ledger.to_dict()["s"]["normalized"] == {"control characters": 3}
    assert [(p.question, p.passage) for p in pairs] == [("What is red?", "Red is a colour."),
                                                       ("Plain question?", "Tabs\tand\nnewlines stay.")]
    assert all("\x1b" not in p.question + p.passage for p in pairs)


def test_squad_and_dpr_titles_and_negatives_are_cleaned_too(tmp_path: Path) -> None:
    squad = {"data": [{"title": "T\x00itle", "paragraphs": [{"context": "Some context here.", "qas": [
        {"id": "a", "question": "\u200bWhat?\x1b[1m", "answers": []}]}]}]}
    f = tmp_path / "s.json"
    f.write_text(json.dumps(squad), encoding="utf-8")
    pairs, ledger = _read(format="squad", path=f)
    assert pairs[0].question == "What?" and pairs[0].passage_title == "T itle"
    assert ledger.sources["s"].normalized["control characters"] == 1
    dpr = [{"question": "Q?", "answers": ["x"], "positive_ctxs": [{"title": "t", "text": "A passage."}],
            "hard_negative_ctxs": [{"title": "n\x1b[0m", "text": "Neg\x00ative."}]}]
    f = tmp_path / "d.json"
    f.write_text(json.dumps(dpr), encoding="utf-8")
    pairs, ledger = _read(format="dpr", path=f)
    assert pairs[0].hard_negatives == (("n", "Neg ative."),)
    assert ledger.sources["s"].normalized["control characters"] == 1


def test_a_huge_valid_dpr_record_is_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_aug.readers import jsonstream

    monkeypatch.setattr(jsonstream, "MAX_RECORD_CHARS", 4096)
    monkeypatch.setattr(jsonstream, "CHUNK_BYTES", 1024)
    rec = {"question": "Q?", "answers": ["x"], "positive_ctxs": [{"title": "t", "text": "word " * 5000}]}
    f = tmp_path / "big.json"
    f.write_text(json.dumps([rec, rec]), encoding="utf-8")
    with pytest.raises(SourceError) as err:
        _read(format="dpr", path=f)
    msg = str(err.value)
    assert "record 0 (line 1)" in msg and "over the record size limit" in msg and "invalid JSON" not in msg
    with pytest.raises(SourceError, match="over the record size limit"):  # the rest cannot be found: not strict too
        _read(format="dpr", path=f, strict=False)
    # a truly broken record is still "invalid JSON"
    f.write_text('[{"question": "Q?", "answers": ["x"] "positive_ctxs": []}]', encoding="utf-8")
    with pytest.raises(SourceError, match="invalid JSON"):
        _read(format="dpr", path=f)
