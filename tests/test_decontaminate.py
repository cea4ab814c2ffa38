from __future__ import annotations

import json
from pathlib import Path

from conftest import DEMO_DATA
from mt_aug.accounting import Ledger
from mt_aug.collect import collect
from mt_aug.config import BuildConfig, EvalSetConfig, SourceConfig
from mt_aug.decontaminate import EvalIndex, EvalText, build_index
from mt_aug.normalize import normalize_text
from mt_aug.stages import decontaminate_source

DEMO_EVAL = DEMO_DATA / "demo_eval_en.json"


def test_normalization() -> None:
    assert normalize_text("  What  IS the Négative electrode, usually? ") == "what is the negative electrode usually"
    assert normalize_text("Ελληνικά!", "el") == "ελληνικα"
    assert normalize_text("हिन्दी", "hi") == "हिन्दी"  # vowel signs kept


def _cfg(tmp_path: Path) -> BuildConfig:
    return BuildConfig(
        name="t", output_dir=tmp_path, languages=["en", "pt"],
        sources=[SourceConfig(name="demo", format="squad", path=DEMO_DATA / "demo_squad.json")],
        eval_sets=[EvalSetConfig(name="demo-eval", format="squad", paths={"en": DEMO_EVAL})],
    )


def test_demo_overlap_is_removed(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    got = collect(cfg)
    index = build_index(cfg.eval_sets, "en", 13)
    dec = decontaminate_source(got.pairs, got.ledger, index)
    dropped = {d.id for d in got.ledger.drops}
    # paragraphs 3 (verbatim) and 11 (case + extra space) drop all their questions,
    # three more questions are asked verbatim, re-cased without '?', and with extra comma/space
    expected = {f"demo-q{i:03d}" for i in [9, 10, 11, 12, 41, 42, 43, 44, 21, 33, 53]}
    assert dropped == expected
    assert len(dec.pairs) == 53
    s = dec.summary["demo-eval"]
    assert (s.pairs_dropped, s.passages_matched, s.questions_matched) == (11, 2, 3)
    by_id = {d.id: d for d in got.ledger.drops}
    assert by_id["demo-q041"].detail["field"] == "passage"
    assert by_id["demo-q033"].detail == {**by_id["demo-q033"].detail, "field": "question", "method": "exact",
                                         "eval_id": "eval-005", "eval_set": "demo-eval"}
    got.ledger.check()


def test_ngram_catches_edited_passage_but_not_common_phrase() -> None:
    eval_passage = " ".join(f"w{i}" for i in range(40))
    idx = EvalIndex(lang="en", n=13)
    idx.add(EvalText("e", "p1", "passage", eval_passage))
    edited = "An inserted sentence here. " + eval_passage.replace("w20", "w20,")
    m = idx.match(edited, "passage")
    assert m is not None and m.method == "ngram" and m.eval_id == "p1"
    assert idx.match("w1 w2 w3 w4 w5 in a completely different text about other things entirely", "passage") is None


def test_missing_eval_language_is_a_warning(tmp_path: Path) -> None:
    from mt_aug.stages import coverage_warnings

    assert coverage_warnings(_cfg(tmp_path)) == ["no eval file for language 'pt': its translated texts were not checked"]


def test_eval_file_with_no_questions_is_an_error(tmp_path: Path) -> None:
    import pytest

    from mt_aug.readers import SourceError

    p = tmp_path / "empty.json"
    p.write_text(json.dumps({"data": []}))
    with pytest.raises(SourceError, match="empty.json: eval file holds no questions"):
        build_index([EvalSetConfig(name="e", format="squad", paths={"en": p})], "en", 13)


def test_xquad_is_inside_squad_dev(shared_data: Path, tmp_path: Path) -> None:
    """SQuAD v1.1 dev vs XQuAD: every pair on the 240 XQuAD paragraphs goes, nothing else by passage."""
    cfg = BuildConfig(
        name="t", output_dir=tmp_path, languages=["en", "pt"],
        sources=[SourceConfig(name="squad", format="squad", path=shared_data / "squad" / "dev-v1.1.json")],
        eval_sets=[EvalSetConfig(name="xquad", format="squad", paths={"en": shared_data / "xquad" / "xquad.en.json"})],
    )
    got = collect(cfg)
    xq = json.loads((shared_data / "xquad" / "xquad.en.json").read_text())
    xq_ids = {qa["id"] for a in xq["data"] for p in a["paragraphs"] for qa in p["qas"]}
    xq_contexts = {p["context"] for a in xq["data"] for p in a["paragraphs"]}
    dec = decontaminate_source(got.pairs, got.ledger, build_index(cfg.eval_sets, "en", 13))
    drops = [d for d in got.ledger.drops if d.stage == "decontaminate"]
    dropped_ids = {d.id for d in drops}
    assert xq_ids <= dropped_ids
    on_xquad = {p.id for p in got.pairs if p.passage in xq_contexts}
    by_passage = {d.id: d for d in drops if d.detail["field"] == "passage"}
    assert on_xquad <= set(by_passage)
    # Other SQuAD dev paragraphs also overlap XQuAD: the same text with other spacing or
    # punctuation (exact after normalization), or a shared 13-gram. None is byte-identical.
    xq_norm = {normalize_text(c) for c in xq_contexts}
    by_pid = {p.id: p for p in got.pairs}
    for pid in set(by_passage) - on_xquad:
        d, passage = by_passage[pid], by_pid[pid].passage
        assert passage not in xq_contexts
        assert d.detail["method"] == "ngram" or normalize_text(passage) in xq_norm
    assert dec.summary["xquad"].passages_matched >= 240
    assert not any(p.passage in xq_contexts for p in dec.pairs)
    got.ledger.check()
    assert isinstance(got.ledger, Ledger)
