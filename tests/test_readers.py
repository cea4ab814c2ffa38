"""Every source reader on small invented fixtures: what it keeps, what it drops and why, and
the message a broken file gives (file + line or record)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from conftest import DEMO_DATA, ROOT
from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.normalize import passage_id
from mt_aug.pairs import dedup
from mt_aug.readers import SourceError, jsonstream
from mt_aug.readers.collect import PairsBuilder, get_reader
from mt_aug.readers.common import Progress
from mt_aug.schema import QAPair

FIX = ROOT / "tests" / "fixtures"
MSMARCO = {"queries": FIX / "msmarco" / "queries.tsv", "collection": FIX / "msmarco" / "collection.tsv",
           "qrels": FIX / "msmarco" / "qrels.tsv"}
JSONL_FIELDS = {"question": "query", "passage": "doc.body", "title": "doc.title", "id": "qid", "answers": "gold"}
CSV_FIELDS = {"question": "question", "passage": "context", "title": "title", "id": "id", "answers": "answer"}


def read(**kw: Any) -> tuple[list[QAPair], Ledger]:
    ledger = Ledger()
    source = SourceConfig(name="s", **kw)
    pairs = list(get_reader(source.format)(source, ledger))
    ledger.check()  # read == kept + sum(dropped), always
    return pairs, ledger


def counts(ledger: Ledger) -> tuple[int, int, dict[str, int]]:
    c = ledger.sources["s"]
    return c.read, c.kept, dict(c.dropped)


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(SourceError, match="no reader for format 'xml' .*dpr.*msmarco"):
        get_reader("xml")


# --- DPR ----------------------------------------------------------------------------------

def test_dpr_first_positive_is_the_passage_and_hard_negatives_ride_along() -> None:
    pairs, ledger = read(format="dpr", path=FIX / "dpr_small.json")
    assert counts(ledger) == (6, 4, {"no positive passage": 1, "empty question": 1})
    first = pairs[0]
    assert first.passage.startswith("The Brindle Point Light is a lighthouse")
    assert first.passage_title == "Brindle Point Light" and first.answers == ("red and white",)
    assert first.hard_negatives == (
        ("Marrow Head Light", "Marrow Head Light is painted black and stands on a granite ledge."),
        ("Tern Island", "Tern Island has no lighthouse but a small beacon."),
    )
    assert first.passage_id == passage_id(first.passage) == pairs[1].passage_id
    # No id in the record: a content hash; an id of its own is kept.
    assert first.id.startswith("h") and len(first.id) == 17 and first.pair_id == f"s:{first.id}"
    assert pairs[2].id == "tq-77"
    # The same record twice has the same id, and dedup drops the second.
    assert pairs[1].id == pairs[3].id
    keep, drops = dedup(table_of(pairs))
    assert keep.sum() == 3 and [d.reason for d in drops] == ["duplicate"]
    ledger.check()


def _write(tmp_path: Path, data: bytes | str | object, name: str = "bad.json") -> Path:
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    elif isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return p


GOOD = {"question": "q one?", "answers": ["a"], "positive_ctxs": [{"title": "T", "text": "Passage one."}]}


def test_dpr_record_missing_question_strict_names_record_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path, [GOOD, {"answers": [], "positive_ctxs": []}])
    with pytest.raises(SourceError, match=r"bad\.json: record 1 \(line \d+\): missing or non-string key 'question'"):
        read(format="dpr", path=p)
    pairs, ledger = read(format="dpr", path=p, strict=False)
    assert len(pairs) == 1 and counts(ledger) == (2, 1, {"malformed record": 1})
    assert ledger.drops[0].id == "record 1" and "record 1" in ledger.drops[0].detail["error"]


def test_dpr_bad_context_and_answers(tmp_path: Path) -> None:
    recs = [GOOD,
            {**GOOD, "positive_ctxs": [{"title": "T"}]},
            {**GOOD, "answers": [1, 2]},
            {**GOOD, "hard_negative_ctxs": [{"title": "N", "text": None}]}]
    pairs, ledger = read(format="dpr", path=_write(tmp_path, recs), strict=False)
    assert len(pairs) == 1 and counts(ledger)[2] == {"malformed record": 3}
    errors = [d.detail["error"] for d in ledger.drops]
    assert "positive_ctxs[0]: missing or non-string key 'text'" in errors[0]
    assert "key 'answers'" in errors[1] and "hard_negative_ctxs[0]" in errors[2]


def test_dpr_wrong_top_level_shape(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"bad\.json: line 1, column 1: expected a DPR JSON list of records .* got '\{'"):
        read(format="dpr", path=_write(tmp_path, {"data": []}), strict=False)


def test_dpr_truncated(tmp_path: Path) -> None:
    text = json.dumps([GOOD, GOOD | {"question": "q two?"}], indent=1)
    p = _write(tmp_path, text[: len(text) - 30])
    with pytest.raises(SourceError, match=r"bad\.json: record 1 \(line \d+\): invalid JSON at line \d+, column \d+: "
                                          r".*truncated\?"):
        read(format="dpr", path=p)
    pairs, ledger = read(format="dpr", path=p, strict=False)  # the cut-off record is counted, the rest kept
    assert len(pairs) == 1 and counts(ledger) == (2, 1, {"malformed record": 1})


def test_dpr_non_utf8(tmp_path: Path) -> None:
    good = json.dumps(GOOD).encode()
    bad = json.dumps(GOOD | {"question": "caf\u00e9?"}).encode().replace(b"\\u00e9", b"\xe9")
    p = _write(tmp_path, b"[\n" + good + b",\n" + bad + b"\n]")
    offset = len(b"[\n" + good + b",\n") + bad.index(b"\xe9")
    with pytest.raises(SourceError, match=rf"bad\.json: not UTF-8: byte offset {offset} \(line 3\)"):
        read(format="dpr", path=p)
    pairs, ledger = read(format="dpr", path=p, strict=False)
    assert len(pairs) == 1 and counts(ledger) == (2, 1, {"malformed record": 1})
    assert "record 1 (line 3): holds bytes that are not UTF-8" in ledger.drops[0].detail["error"]


def test_json_stream_across_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = [{"q": "\u00e9\u4e2d" * (i % 4), "n": [i, 1.5, None, 123456789012]} for i in range(40)] + [12345678, "x"]
    p = _write(tmp_path, json.dumps(data, ensure_ascii=False), "a.json")
    for chunk in (1, 3, 7, 64):
        monkeypatch.setattr(jsonstream, "CHUNK_BYTES", chunk)
        assert [e.value for e in jsonstream.iter_json_array(p)] == data
    p = _write(tmp_path, json.dumps(data, indent=2), "b.json")
    lines = p.read_text().splitlines()
    for e in jsonstream.iter_json_array(p):
        assert lines[e.line - 1].strip()[:1] in "{1\""


# --- MS MARCO -----------------------------------------------------------------------------

def test_msmarco_one_pair_per_relevant_qrels_row() -> None:
    pairs, ledger = read(format="msmarco", **MSMARCO)
    assert [p.id for p in pairs] == ["11-21", "12-22", "13-23", "14-24", "15-26"]  # collection order
    assert pairs[0].question == "what is a tidewater glacier" and pairs[0].passage_title == ""
    assert pairs[0].passage == "A tidewater glacier is a glacier that ends in the sea, where it sheds icebergs."
    # read = 10 qrels rows + 1 malformed collection line; not strict by default
    assert counts(ledger) == (11, 5, {"not relevant": 1, "missing passage": 2, "missing query": 1,
                                      "malformed record": 2})
    errors = {d.id: d.detail.get("error", "") for d in ledger.drops}
    assert errors["14-99"].endswith("qrels.tsv: line 6: passage 99 is not in " + str(MSMARCO["collection"]))
    assert errors["99-21"].endswith("qrels.tsv: line 7: query 99 is not in " + str(MSMARCO["queries"]))
    assert "collection.tsv: line 5: expected 2 tab-separated columns (pid, passage), got 3" in errors["collection.tsv line 5"]
    assert "qrels.tsv: line 9: expected 4 columns" in errors["qrels.tsv line 9"]


def test_msmarco_strict_raises_on_first_problem(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"qrels\.tsv: line 9: expected 4 columns \(qid 0 pid rel\), got 2"):
        read(format="msmarco", strict=True, **MSMARCO)
    qrels = _write(tmp_path, "11\t0\t21\t1\n12\t0\t77\t1\n", "qrels.tsv")
    coll = _write(tmp_path, "21\tA passage.\n", "collection.tsv")
    with pytest.raises(SourceError, match=r"qrels\.tsv: line 2: passage 77 is not in .*collection\.tsv"):
        read(format="msmarco", strict=True, **(MSMARCO | {"qrels": qrels, "collection": coll}))


def test_msmarco_non_utf8_passage_and_query(tmp_path: Path) -> None:
    coll = _write(tmp_path, b"21\tfine passage\n22\tbad \xff passage\n23\tunused \xff passage\n", "collection.tsv")
    queries = _write(tmp_path, b"11\tfirst\n12\tsecond\n13\tthird \xfe\n", "queries.tsv")
    qrels = _write(tmp_path, "11\t0\t21\t1\n12\t0\t22\t1\n13\t0\t21\t1\n", "qrels.tsv")
    pairs, ledger = read(format="msmarco", queries=queries, collection=coll, qrels=qrels)
    assert [p.id for p in pairs] == ["11-21"]
    assert counts(ledger) == (5, 1, {"malformed record": 2, "missing passage": 1, "missing query": 1})
    errors = [d.detail["error"] for d in ledger.drops if d.reason == "malformed record"]
    assert any("queries.tsv: line 3: not UTF-8" in e for e in errors)
    assert any("collection.tsv: line 2: not UTF-8" in e for e in errors)


# --- JSON Lines, CSV, Hugging Face -----------------------------------------------------------

def test_jsonl_fields_map_nested_names() -> None:
    pairs, ledger = read(format="jsonl", path=FIX / "mapped.jsonl", fields=JSONL_FIELDS, strict=False)
    assert [p.id for p in pairs] == ["m1", "m2", "m4", "m6"]
    assert pairs[1].answers == ("the vibraphone",) and pairs[0].passage_title == "Orvania"
    assert counts(ledger) == (6, 4, {"empty question": 1, "malformed record": 1})
    bad = [d for d in ledger.drops if d.reason == "malformed record"][0]
    assert bad.id == "m5" and bad.detail["error"].endswith("mapped.jsonl: line 6: missing key 'doc.body' (fields.passage)")
    assert dedup(table_of(pairs))[0].sum() == 3  # m6 asks m1's question again
    ledger.check()


def test_jsonl_strict_and_broken_lines(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"mapped\.jsonl: line 6: missing key 'doc\.body' \(fields\.passage\)"):
        read(format="jsonl", path=FIX / "mapped.jsonl", fields=JSONL_FIELDS)
    p = _write(tmp_path, b'{"q": "ok?", "p": "fine"}\n{"q": "cut\n{"q": "caf\xe9?", "p": "x"}\n[1]\n', "x.jsonl")
    fields = {"question": "q", "passage": "p"}
    with pytest.raises(SourceError, match=r"x\.jsonl: line 2: invalid JSON at column 11: Invalid control character$"):
        read(format="jsonl", path=p, fields=fields)
    pairs, ledger = read(format="jsonl", path=p, fields=fields, strict=False)
    assert len(pairs) == 1 and counts(ledger) == (4, 1, {"malformed record": 3})
    assert [d.id for d in ledger.drops] == ["line 2", "line 3", "line 4"]
    assert pairs[0].id.startswith("h")  # no id field: content hash


def test_csv_quoted_multiline_fields() -> None:
    pairs, ledger = read(format="csv", path=FIX / "mapped.csv", fields=CSV_FIELDS, strict=False)
    assert [p.id for p in pairs] == ["c1", "c2", "c3"]
    assert pairs[1].question == 'Where does the Pellow line run, "north" or south?'
    assert pairs[1].passage.endswith("runs north\nfrom Carra to the coast.")
    assert counts(ledger) == (5, 3, {"malformed record": 1, "empty passage": 1})
    bad = [d for d in ledger.drops if d.reason == "malformed record"][0]
    assert bad.id == "c4" and "mapped.csv: line 6: expected 5 columns, got 2" in bad.detail["error"]


def test_csv_strict_header_and_utf8(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"mapped\.csv: line 6: expected 5 columns, got 2"):
        read(format="csv", path=FIX / "mapped.csv", fields=CSV_FIELDS)
    with pytest.raises(SourceError, match=r"mapped\.csv: line 1: no column 'passage' \(fields\.passage\)"):
        read(format="csv", path=FIX / "mapped.csv", fields=CSV_FIELDS | {"passage": "passage"})
    p = _write(tmp_path, b"q\tp\nfine?\tok\ncaf\xe9?\tok\n", "x.tsv")
    fields = {"question": "q", "passage": "p"}
    with pytest.raises(SourceError, match=r"x\.tsv: line 3: not UTF-8"):
        read(format="csv", path=p, fields=fields)
    pairs, ledger = read(format="csv", path=p, fields=fields, strict=False)
    assert len(pairs) == 1 and counts(ledger) == (2, 1, {"malformed record": 1})


def test_hf_reader_streams_a_local_dataset() -> None:
    pairs, ledger = read(format="hf", dataset=str(FIX / "hf_local"), split="train",
                         fields={"question": "q", "passage": "ctx", "title": "t", "id": "id"})
    assert [(p.id, p.passage_title) for p in pairs] == [("h1", "Corrin festival"), ("h2", "")]
    assert counts(ledger) == (2, 2, {})


# --- shared checks ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kw",
    [
        {"format": "squad", "path": DEMO_DATA / "demo_squad.json"},
        {"format": "dpr", "path": FIX / "dpr_small.json"},
        {"format": "msmarco", **MSMARCO},
        {"format": "jsonl", "path": FIX / "mapped.jsonl", "fields": JSONL_FIELDS, "strict": False},
        {"format": "csv", "path": FIX / "mapped.csv", "fields": CSV_FIELDS, "strict": False},
    ],
    ids=lambda kw: kw["format"],
)
def test_max_passage_words_is_one_check_for_every_reader(kw: dict[str, Any]) -> None:
    all_pairs, _ = read(**kw)
    limit = min(len(p.passage.split()) for p in all_pairs)  # the shortest passes, longer ones drop
    pairs, ledger = read(**kw, max_passage_words=limit)
    expected = sum(len(p.passage.split()) > limit for p in all_pairs)
    assert 0 < expected < len(all_pairs)
    assert ledger.sources["s"].dropped["passage too long"] == expected
    assert all(len(p.passage.split()) <= limit for p in pairs) and len(pairs) == len(all_pairs) - expected
    d = next(d for d in ledger.drops if d.reason == "passage too long")
    assert d.detail["max_passage_words"] == limit and d.detail["words"] > limit


def test_progress_logs_records_per_second(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress("src", every_s=0.0, check_every=2)
    with caplog.at_level(logging.INFO, logger="mt_aug.readers"):
        for _ in range(5):
            progress.tick()
    assert any(r.getMessage().startswith("read src: 2 records, ") and "records/s" in r.getMessage()
               for r in caplog.records)


def table_of(pairs):  # type: ignore[no-untyped-def]
    b = PairsBuilder()
    for p in pairs:
        b.add(p)
    return b.finish()
