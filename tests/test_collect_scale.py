"""Collect at scale (issue 12): the SQuAD reader streams its file one article at a time, the
control-character check has a fast path, each distinct passage/title is cleaned once, and
PairsBuilder builds columns from offsets; the results are those of the straightforward code
(the references below: json.load, the regex alone, Python lists)."""

from __future__ import annotations

import json
import random
import re
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pytest

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.pairs import pairs_of
from mt_aug.readers import SourceError, collect as collect_mod, jsonstream
from mt_aug.readers.collect import PairsBuilder, _Interner
from mt_aug.readers.common import _CONTROL, strip_controls
from mt_aug.readers.squad import read
from mt_aug.schema import NEGATIVE_TYPE, QAPair

NASTY = ["\x00", "\x1b[31m", "\x7f", "\x85", "\u200b", "\ufeff", "\t", "\n", "\u00a0", "  ", "caf\u00e9", "\u4e2d"]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(["alpha", "beta", "Gamma_x", *NASTY]) for _ in range(n))


def _squad_doc(n_articles: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    data, qid = [], 0
    for a in range(n_articles):
        paras = []
        for _ in range(rng.randint(1, 3)):
            ctx = _text(rng, rng.randint(0, 30))
            qas = []
            for _ in range(rng.randint(0, 6)):
                qid += 1
                qas.append({"id": f"q{qid}", "question": _text(rng, rng.randint(0, 8)),
                            "answers": [{"text": rng.choice(["a", "b", "a"])} for _ in range(rng.randint(0, 3))],
                            **({"is_impossible": True} if rng.random() < 0.1 else {})})
            paras.append({"context": ctx, "qas": qas})
        data.append({"title": _text(rng, 2) + str(a % 7), "paragraphs": paras})
    return {"version": "1.1", "data": data}


def _read(path: Path, **kw: object) -> tuple[list[QAPair], Ledger]:
    ledger = Ledger()
    pairs = list(read(SourceConfig(name="s", format="squad", path=path, **kw), ledger))
    ledger.check()
    return pairs, ledger


# --- jsonstream: the array under a key ---------------------------------------------------

def test_array_under_a_key_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = {"version": {"n": [1, 2.5, None]}, "data": [{"q": "\u00e9\u4e2d" * i, "n": [i, 123456789012]} for i in range(30)]
           + [7, "x", []], "after": "tail \u00e9"}
    for indent in (None, 2):
        p = tmp_path / "a.json"
        p.write_text(json.dumps(doc, indent=indent, ensure_ascii=False), encoding="utf-8")
        lines = p.read_text(encoding="utf-8").splitlines()
        for chunk in (1, 5, 64, 1 << 20):
            monkeypatch.setattr(jsonstream, "CHUNK_BYTES", chunk)
            got = list(jsonstream.iter_json_array(p, key="data", what="X JSON"))
            assert [e.value for e in got] == doc["data"]
            if indent:
                assert all(lines[e.line - 1].strip()[:1] in '{7"[' for e in got)
    p.write_text('{"data": []}')
    assert list(jsonstream.iter_json_array(p, key="data")) == []


@pytest.mark.parametrize(("text", "message"), [
    ('[1, 2]', r"a\.json: not X JSON: expected an object with a 'data' list at the top level \(line 1, column 1: got '\['\)"),
    ('', r"a\.json: not X JSON: .*\(line 1, column 1: an empty file\)"),
    ('{"version": 1}', r"a\.json: not X JSON: .*: no 'data' key\)"),
    ('{}', r"a\.json: not X JSON: .*: no 'data' key\)"),
    ('{"data": {"a": 1}}', r"a\.json: not X JSON: .*\(line 1, column 10: 'data' is not a list\)"),
    ('{"data": [], "data": []}', r"a\.json: invalid JSON at line 1, column 22: a second 'data' key"),
    ('{"data": [1]} x', r"a\.json: line 1, column 15: unexpected text after the end of the top-level object"),
    ('{"data": [1] "v": 2}', r"a\.json: invalid JSON at line 1, column 14: expected ',' or '}' after a member"),
    ('{"data": [1 2]}', r"a\.json: invalid JSON at line 1, column 13: expected ',' or '\]' after data\[0\], got '2'"),
    ('{"v": tru, "data": []}', r"a\.json: invalid JSON at line 1, column 7: Expecting value"),
    ('{\n "data": [{"a": 1},\n {"a": }]}', r"a\.json: invalid JSON at line 3, column 8: Expecting value \(in data\[1\], from line 3\)"),
    ('{"data": [{"a": "x', r"a\.json: invalid JSON at line 1, column 17: Unterminated string .*truncated\?\) \(in data\[0\]"),
])
def test_array_under_a_key_errors_name_file_and_place(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "a.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        list(jsonstream.iter_json_array(p, key="data", what="X JSON"))


def test_column_of_an_error_on_one_long_line_after_the_buffer_moved_on(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated file is one line: the column counts from the line's start, not the buffer's."""
    monkeypatch.setattr(jsonstream, "CHUNK_BYTES", 16)
    good = ", ".join(json.dumps({"q": "x" * 10}) for _ in range(20))
    text = '{"data": [' + good + ', {"q": }]}'
    p = tmp_path / "a.json"
    p.write_text(text, encoding="utf-8")
    column = text.index('{"q": }') + 7
    with pytest.raises(SourceError, match=rf"invalid JSON at line 1, column {column}: Expecting value \(in data\[20\]"):
        list(jsonstream.iter_json_array(p, key="data"))


# --- the SQuAD reader, streamed ---------------------------------------------------------

def test_streamed_squad_reader_equals_reading_the_parsed_document(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _squad_doc(60)
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    whole, ledger = _read(p)
    monkeypatch.setattr(jsonstream, "CHUNK_BYTES", 7)
    streamed, ledger2 = _read(p)
    assert streamed == whole and ledger2.to_dict() == ledger.to_dict()
    # what the reader must give, from the parsed document
    questions = [(qa, para["context"]) for art in doc["data"] for para in art["paragraphs"] for qa in para["qas"]]
    answerable = [(qa, ctx) for qa, ctx in questions if not qa.get("is_impossible")]
    kept = [(qa, ctx) for qa, ctx in answerable if strip_controls(qa["question"]).strip()
            and strip_controls(ctx).strip()]
    assert [p.id for p in whole] == [qa["id"] for qa, _ in kept]
    assert [p.passage for p in whole] == [strip_controls(ctx).strip() for _, ctx in kept]
    assert [p.answers for p in whole] == [tuple(dict.fromkeys(a["text"] for a in qa["answers"])) for qa, _ in kept]
    c = ledger.sources["s"]
    assert c.read == len(questions) and c.dropped["unanswerable"] == len(questions) - len(answerable)
    changed = sum(1 for qa, ctx in answerable if any(_CONTROL.search(t) for t in (qa["question"], ctx))
                  or _CONTROL.search(next(a["title"] for a in doc["data"] for para in a["paragraphs"]
                                          if any(q is qa for q in para["qas"]))))
    assert c.normalized["control characters"] == changed


def test_squad_reader_holds_one_article_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK_BYTES", 1 << 14)
    p = tmp_path / "big.json"
    data = [{"title": f"T{a}", "paragraphs": [{"context": f"Passage {a} " + "word " * 150, "qas": [
        {"id": f"q{a}-{i}", "question": f"Question {i} of {a}?", "answers": [{"text": "word"}]} for i in range(5)]}]}
        for a in range(1000)]
    p.write_text(json.dumps({"version": "1", "data": data}), encoding="utf-8")
    size = p.stat().st_size
    del data
    tracemalloc.start()
    try:
        n = sum(1 for _ in read(SourceConfig(name="s", format="squad", path=p), Ledger()))
        held, peak = tracemalloc.get_traced_memory()  # held: the bounded caches of cleaned passages
    finally:
        tracemalloc.stop()
    assert n == 5000
    assert peak - held < size / 10, (peak, held, size)  # json.load would hold several times the file


def test_squad_errors_keep_file_and_place(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"data": [{"title": "T", "paragraphs": [{"context": 3, "qas": []}]}]}')
    with pytest.raises(SourceError, match=r"bad\.json: data\[0\]\.paragraphs\[0\]: expected an object with a 'context'"):
        _read(p)
    p.write_text('{"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [5]}]}]}')
    with pytest.raises(SourceError, match=r"bad\.json: data\[0\]\.paragraphs\[0\]\.qas\[0\]: expected an object"):
        _read(p)
    pairs, ledger = _read(p, strict=False)
    assert not pairs and dict(ledger.sources["s"].dropped) == {"malformed record": 1}


# --- control characters -----------------------------------------------------------------

def test_every_character_the_pattern_removes_is_unprintable() -> None:
    """The fast path (a printable text is returned as is) can never skip a removal."""
    removed = [c for c in range(0x10000) if _CONTROL.match(chr(c))]
    assert len(removed) == 9 + 2 + 18 + 33 + 2 + 5 + 4  # ... and the bidi embeddings/overrides, isolates
    assert not any(chr(c).isprintable() for c in removed)


def test_one_passage_with_control_characters_counts_every_question_asked_of_it(tmp_path: Path) -> None:
    # two paragraphs with equal text (distinct objects once parsed): cleaned once, counted per record
    para = {"context": "A\x00passage.", "qas": [{"id": f"q{i}", "question": "Q?", "answers": []} for i in range(3)]}
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [para, para | {"qas": para["qas"][:1]}]}]}))
    pairs, ledger = _read(p)
    assert [x.passage for x in pairs] == ["A passage."] * 4
    assert ledger.sources["s"].normalized["control characters"] == 4


# --- PairsBuilder -----------------------------------------------------------------------

def _reference_table(pairs: list[QAPair]) -> dict[str, list]:
    return {"answers": [list(p.answers) for p in pairs],
            "hard_negatives": [[{"title": t, "text": x} for t, x in p.hard_negatives] for p in pairs]}


def test_builder_columns_across_chunks_with_and_without_negatives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect_mod, "_CHUNK", 3)
    pairs = [QAPair("s", f"r{i}", f"q{i}?", f"T{i % 2}", f"P{i % 4}", tuple(f"a{j}" for j in range(i % 3)),
                    f"s:r{i}", f"p{i % 4}", ((f"n{i}", f"neg {i}"),) * (i % 5 == 4)) for i in range(11)]
    table = PairsBuilder()
    table.extend(pairs)
    t = table.finish()
    assert t.column("hard_negatives").type == NEGATIVE_TYPE and t.column("answers").num_chunks == 4
    assert t.column("answers").to_pylist() == _reference_table(pairs)["answers"]
    assert t.column("hard_negatives").to_pylist() == _reference_table(pairs)["hard_negatives"]
    assert pairs_of(t) == pairs
    assert t.column("passage").combine_chunks().dictionary.to_pylist() == ["P0", "P1", "P2", "P3"]
    # no negatives anywhere: no column, as before
    b = PairsBuilder()
    b.extend(p for p in pairs if not p.hard_negatives)
    assert "hard_negatives" not in b.finish().column_names


def test_interner_codes_are_exact_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    class Same(str):
        def __hash__(self) -> int:
            return 42

    interner = _Interner()
    texts = ["a", "b", "a", "c", "b", "d", "a"]
    codes = []
    for i, t in enumerate(texts):
        codes.append(interner.code(Same(t)))
        if i == 3:
            interner.flush()  # later lookups check texts already in Arrow chunks
    assert codes == [0, 1, 0, 2, 1, 3, 0]
    assert interner.values().to_pylist() == ["a", "b", "c", "d"]
    assert isinstance(interner.values(), pa.Array)


def test_fast_strip_controls_equals_the_regex_alone() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        text = _text(rng, rng.randint(0, 6))
        plain = text if not _CONTROL.search(text) else _CONTROL.sub(" ", re.sub(
            r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]", "", text))
        assert strip_controls(text) == plain
        assert (strip_controls(text) is text) == (not _CONTROL.search(text))


def test_a_squad_article_over_the_size_limit_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK_BYTES", 64)
    monkeypatch.setattr(jsonstream, "MAX_RECORD_CHARS", 1000)
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"data": [{"title": "t", "paragraphs": []},
                                      {"title": "t", "paragraphs": [{"context": "x " * 2000, "qas": []}]}]}, indent=1))
    with pytest.raises(SourceError, match=r"s\.json: data\[1\] \(line 7\): over the record size limit"):
        _read(p)
