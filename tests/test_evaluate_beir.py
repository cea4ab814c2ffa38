"""Passage-level evaluation (`mt-aug evaluate --format beir`) and `mt-aug convert-eval miracl`:
the hand-written BEIR folders of tests/fixtures/eval/beir_hand (graded qrels) scored by a model
whose scores are set by hand, the figures recomputed by hand; exact blocked ranks against the
whole-row ranks; BM25 against bm25s's own scores; the MIRACL fixture converted and evaluated;
and bad input, one line each."""

from __future__ import annotations

import gzip
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.evaluation.beir import evaluate_beir, read_beir, read_beir_sets
from mt_aug.evaluation.encode import EmbeddingCache
from mt_aug.evaluation.lareqa import EvalDataError
from mt_aug.evaluation.metrics import blocked_relevant_ranks, passage_metrics, relevant_ranks
from mt_aug.evaluation.report import load_report
from tests.test_cli_errors import one_error

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
BEIR = FIXTURES / "beir_hand"
MIRACL = FIXTURES / "miracl"
runner = CliRunner()


class HandModel:
    """A stand-in encoder whose embeddings are given per text: documents one-hot, queries their
    wanted score against each document, so every score is set by hand."""

    device = torch.device("cpu")

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls = 0

    def encode(self, texts, **kw):  # type: ignore[no-untyped-def]
        self.calls += 1
        return np.asarray([self.vectors[t] for t in texts], dtype=np.float32)


def _hand_model() -> HandModel:
    vec: dict[str, list[float]] = {}
    for s in read_beir_sets(str(BEIR / "{lang}")):
        n = len(s.docs)
        for i, doc in enumerate(s.docs):
            vec[doc] = [1.0 if j == i else 0.0 for j in range(6)]
        scores = {"en": {"q1": [0.8, 0.9, 0.6, 0.7, 0.5, 0.1], "q2": [0.3] * 6},
                  "de": {"q2": [0.5, 0.4] + [0.0] * 4}}[s.lang]
        for qid, q in zip(s.query_ids, s.queries, strict=True):
            vec[q] = scores[qid][:n] + [0.0] * (6 - n)
    return HandModel(vec)


def test_beir_figures_by_hand(tmp_path: Path) -> None:
    sets = read_beir_sets(str(BEIR / "{lang}"))
    assert [s.lang for s in sets] == ["de", "en"]
    en = sets[1]
    assert en.docs[0] == "Sarnwick The harbour of Sarnwick freezes over in January, and the ferries stop until the thaw."
    assert en.docs[1].startswith("Lighthouse")  # no title: the text alone
    assert en.query_ids == ["q1", "q2"]  # q3: only a 0 judgment; q4: not in the qrels
    assert en.unscored == {"not in qrels": 1, "no relevant passage": 1}
    assert en.relevant.tolist() == [[0, 2], [3, -1]] and en.gains.tolist() == [[2.0, 1.0], [1.0, 0.0]]
    model = _hand_model()
    cache = EmbeddingCache(tmp_path / "cache")
    report, _ = evaluate_beir(model, sets, cache=cache, model_hash="hand")  # type: ignore[arg-type]
    # en q1 ranks d2 .9, d1 .8, d4 .7, d3 .6, d5 .5, d6 .1: d1 (score 2) at rank 2, d3 (score 1) at 4.
    ndcg_q1 = (2 / math.log2(3) + 1 / math.log2(5)) / (2 / math.log2(2) + 1 / math.log2(3))
    # en q2: every score .3, ties by corpus order: d4 at rank 4.
    ndcg_q2 = 1 / math.log2(5)
    # de q2: d1 .5, d2 .4: d2 at rank 2.
    ndcg_de = 1 / math.log2(3)
    assert report["ndcg@10"]["en"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2)
    assert report["ndcg@10"]["de"] == pytest.approx(ndcg_de)
    assert report["ndcg@10"]["mean"] == pytest.approx(((ndcg_q1 + ndcg_q2) / 2 + ndcg_de) / 2)
    assert report["mrr@10"] == pytest.approx({"en": (1 / 2 + 1 / 4) / 2, "de": 1 / 2, "mean": (3 / 8 + 1 / 2) / 2})
    assert report["recall@100"] == {"en": 1.0, "de": 1.0, "mean": 1.0}
    assert report["beir"]["queries"] == {"de": 1, "en": 2} and report["beir"]["corpus"] == {"de": 2, "en": 6}
    assert report["beir"]["unscored"]["en"] == {"not in qrels": 1, "no relevant passage": 1}
    # the corpus embeddings are cached (model, corpus.jsonl's sha256): a second run encodes nothing
    calls = model.calls
    again, _ = evaluate_beir(model, sets, cache=cache, model_hash="hand")  # type: ignore[arg-type]
    assert model.calls == calls and again["ndcg@10"] == report["ndcg@10"]
    assert cache.path("hand", en.sha256["corpus"], "beir-corpus").is_file()  # type: ignore[union-attr]


def test_passage_metrics_by_hand() -> None:
    # q0: gains 3, 1, 2 at ranks 1, 101 (past 100), 5. q1: one relevant at rank 11.
    ranks = np.array([[1, 101, 5], [11, 0, 0]])
    gains = np.array([[3.0, 1.0, 2.0], [1.0, 0.0, 0.0]])
    ndcg, recall, mrr = passage_metrics(ranks, gains)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg[0] == pytest.approx((3 / math.log2(2) + 2 / math.log2(6)) / ideal)
    assert ndcg[1] == 0.0 and recall.tolist() == pytest.approx([2 / 3, 1.0]) and mrr.tolist() == [1.0, 0.0]


def test_blocked_ranks_equal_whole_row_ranks() -> None:
    rng = np.random.default_rng(11)
    scores = torch.from_numpy(rng.integers(0, 5, size=(30, 53)).astype(np.float32))  # many ties
    rel = torch.full((30, 3), -1, dtype=torch.int64)
    for i in range(30):
        r = rng.choice(53, size=rng.integers(1, 4), replace=False)
        rel[i, :len(r)] = torch.from_numpy(r)

    def block(start: int, stop: int, rows: torch.Tensor | None) -> torch.Tensor:
        s = scores[:, start:stop]
        return s if rows is None else s[rows]

    for k in (1, 3, 10, 100):
        want = relevant_ranks(scores, rel, k)
        for size in (1, 7, 53):
            assert torch.equal(blocked_relevant_ranks(53, block, rel, k, size), want), (k, size)


def test_bm25_beir_against_bm25s(tmp_path: Path) -> None:
    import bm25s

    from mt_aug.evaluation.bm25 import tokenize

    sets = read_beir_sets(str(BEIR / "{lang}"), ["en"])
    report, _ = evaluate_beir("bm25", sets)
    s = sets[0]
    index = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    index.index([tokenize(d, "en") for d in s.docs], show_progress=False)
    ndcgs = []
    for q, rel, gains in zip(s.queries, s.relevant, s.gains, strict=True):
        row = index.get_scores([t for t in tokenize(q, "en") if t in index.vocab_dict])
        order = sorted(range(len(row)), key=lambda d: (-row[d], d))
        dcg = sum(g / math.log2(order.index(d) + 2) for d, g in zip(rel, gains, strict=True) if d >= 0)
        ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gains[gains > 0], reverse=True)))
        ndcgs.append(dcg / ideal)
    assert report["ndcg@10"]["en"] == pytest.approx(float(np.mean(ndcgs)))
    assert report["ndcg@10"]["en"] > 0.9  # the words of each question are in its passage


def test_bad_beir_folders_are_one_line(tmp_path: Path) -> None:
    def folder(name: str) -> Path:
        d = tmp_path / name / "en"
        shutil.copytree(BEIR / "en", d)
        return d

    def err(d: Path) -> str:
        with pytest.raises(EvalDataError) as e:
            read_beir(d, "en")
        msg = one_error(runner.invoke(app, ["evaluate", "--model", "bm25", "--format", "beir", "--paths",
                                            str(d.parent / "{lang}"), "--report", str(tmp_path / "r.json")]))
        assert msg == f"mt-aug: error: {e.value}"
        return str(e.value)

    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        d = folder("missing-" + name.replace("/", "-"))
        (d / name).unlink()
        assert err(d) == (f"{d}: not a BEIR folder: {name} missing (a BEIR folder holds corpus.jsonl, "
                          "queries.jsonl and qrels/test.tsv)")
    d = folder("unknown-query")
    with open(d / "qrels" / "test.tsv", "a", encoding="utf-8") as f:
        f.write("q9\td1\t1\n")
    assert err(d) == f"{d / 'qrels' / 'test.tsv'}:7: query id 'q9' is not in queries.jsonl"
    d = folder("unknown-doc")
    with open(d / "qrels" / "test.tsv", "a", encoding="utf-8") as f:
        f.write("q2\td99\t1\n")
    assert err(d) == f"{d / 'qrels' / 'test.tsv'}:7: corpus id 'd99' is not in corpus.jsonl"
    d = folder("twice")
    with open(d / "qrels" / "test.tsv", "a", encoding="utf-8") as f:
        f.write("q1\td1\t1\n")
    assert err(d) == f"{d / 'qrels' / 'test.tsv'}:7: query 'q1' judges corpus id 'd1' twice"
    d = folder("dup-doc")
    with open(d / "corpus.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"_id": "d2", "text": "again"}) + "\n")
    assert err(d) == f"{d / 'corpus.jsonl'}:7: _id 'd2' appears twice (first on line 2)"
    d = folder("surrogate")
    (d / "queries.jsonl").write_text('{"_id": "q1", "text": "bad \\ud800 query"}\n', encoding="utf-8")
    assert err(d) == f"{d / 'queries.jsonl'}:1: 'text' holds a lone UTF-16 surrogate (\\u escape D800-DFFF without its pair): not text"
    d = folder("deep")
    (d / "queries.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert err(d) == f"{d / 'queries.jsonl'}:1: invalid JSON: nested too deep to read"
    d = folder("no-relevant")
    (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t0\n", encoding="utf-8")
    assert err(d) == f"{d / 'qrels' / 'test.tsv'}: no query has a relevant passage (a judgment with score > 0)"
    assert not (tmp_path / "r.json").exists()
    msg = one_error(runner.invoke(app, ["evaluate", "--model", "bm25", "--format", "beir", "--paths",
                                        str(BEIR / "{lang}"), "--with-context", "--report", str(tmp_path / "r.json")]))
    assert msg.startswith("mt-aug: error: --with-context: lareqa only")


def test_convert_miracl_then_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "miracl" / "en"
    files = []
    for split in ("train", "dev"):
        files += ["--topics", str(MIRACL / f"topics.miracl-v1.0-en-{split}.tsv"),
                  "--qrels", str(MIRACL / f"qrels.miracl-v1.0-en-{split}.tsv")]
    args = ["convert-eval", "miracl", *files, "--output", str(out)]
    corpus = ["--corpus", str(MIRACL / "docs-0.jsonl.gz"), "--corpus", str(MIRACL / "docs-1.jsonl")]
    r = runner.invoke(app, [*args, *corpus])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == f"{out}: 5 queries, 5 judgments (3 relevant), 7 passages"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "corpus.jsonl", "qrels/test.tsv", "queries.jsonl"]
    qrels = (out / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    assert qrels[0] == "query-id\tcorpus-id\tscore" and "101\t9001#1\t0" in qrels
    first = json.loads((out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[0])
    with gzip.open(MIRACL / "docs-0.jsonl.gz", "rt", encoding="utf-8") as f:
        want = json.loads(f.readline())
    assert first == {"_id": want["docid"], "title": want["title"], "text": want["text"]}
    assert [json.loads(x)["_id"] for x in (out / "queries.jsonl").read_text().splitlines()] == [
        "101", "102", "103", "201", "202"]

    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--format", "beir", "--paths",
                            str(tmp_path / "miracl" / "{lang}"), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.stderr
    rep = load_report(tmp_path / "r.json")
    assert rep["model"] == "bm25" and rep["format"] == "beir" and rep["languages"] == ["en"]
    assert rep["beir"]["queries"] == {"en": 3} and rep["beir"]["corpus"] == {"en": 7}
    assert rep["beir"]["unscored"] == {"en": {"not in qrels": 1, "no relevant passage": 1}}
    assert set(rep["ndcg@10"]) == {"en", "mean"} and 0 < rep["ndcg@10"]["mean"] <= 1
    assert "ndcg@10" in r.stdout and "queries not scored: en: 1 not in qrels, 1 no relevant passage" in r.stdout

    judged = tmp_path / "judged"
    r = runner.invoke(app, ["convert-eval", "miracl", *files, "--output", str(judged), *corpus, "--judged-only"])
    assert r.exit_code == 0 and r.stdout.strip().endswith("5 passages")

    # Bad input: one line, exit 2, nothing written.
    msg = one_error(runner.invoke(app, [*args, *corpus]))  # the folder exists now
    assert msg == f"mt-aug: error: {out}: --output exists and is not an empty folder (nothing was written)"
    fresh = tmp_path / "bad" / "en"
    msg = one_error(runner.invoke(app, ["convert-eval", "miracl", "--output", str(fresh),
                                        "--topics", str(MIRACL / "topics.miracl-v1.0-en-dev.tsv"),
                                        "--qrels", str(MIRACL / "qrels.miracl-v1.0-en-train.tsv"), *corpus]))
    assert msg == (f"mt-aug: error: {MIRACL / 'qrels.miracl-v1.0-en-train.tsv'}:1: query id '101' is not in the "
                   "topics given")
    msg = one_error(runner.invoke(app, ["convert-eval", "miracl", "--output", str(fresh),
                                        "--topics", str(MIRACL / "topics.miracl-v1.0-en-dev.tsv"),
                                        "--qrels", str(MIRACL / "qrels.miracl-v1.0-en-dev.tsv"),
                                        "--corpus", str(MIRACL / "docs-0.jsonl.gz")]))
    assert msg == (f"mt-aug: error: {MIRACL / 'qrels.miracl-v1.0-en-dev.tsv'}:1: 2 of the 2 judged passages are "
                   "not in the corpus files given, e.g. '9003#2' (all of a language's docs-*.jsonl.gz are needed)")
    msg = one_error(runner.invoke(app, ["convert-eval", "miracl", "--output", str(fresh),
                                        "--topics", str(MIRACL / "topics.bad.tsv"),
                                        "--qrels", str(MIRACL / "qrels.miracl-v1.0-en-dev.tsv"), *corpus]))
    assert msg == f"mt-aug: error: {MIRACL / 'topics.bad.tsv'}:3: expected qid<TAB>query, found no tab"
    assert not (tmp_path / "bad").exists()  # not even the folder it would have gone into
