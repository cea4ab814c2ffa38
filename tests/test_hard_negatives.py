"""Translated hard negatives (issue 24): a DPR build with `hard_negatives: {translate: 2}`
translated by the real Bergamot en->pt model writes each row's negatives in its passage's
language; English negatives that overlap an eval set are removed, a negative whose translation
fails the gate is dropped from pt only, a translated one that overlaps a pt eval set too; the
counts reach the manifest, drops.jsonl, the card and `plan`; the consumer side reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import write_config
from mt_aug.config import load_config
from mt_aug.pipeline import build
from mt_aug.release.verify import verify_build
from mt_aug.schema import NEGATIVE_DROP_STAGE
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import cache_scope
from mt_aug.translation.segment import split_sentences
from training_builds import read_arrow, short_build

pytestmark = pytest.mark.xdist_group("hard-negatives")  # one worker builds the module's DPR build once

# Passages written for this test; pair i asks about topic i, its hard negatives are topics i+1..i+3.
TOPICS = [
    ("Brindle Point Light", "The Brindle Point Light is a lighthouse painted in red and white bands."),
    ("Lowen Ford", "Lowen Ford is a market town on the river Skell, known for its wool fair."),
    ("Orchard Ledger", "The Orchard Ledger is a novel about a family of apple growers."),
    ("Tern Island", "Tern Island has no lighthouse but a small beacon on its eastern rocks."),
    ("Marrow Head", "Marrow Head is a cape with steep cliffs and a colony of gannets."),
    ("Skell Valley", "The Skell Valley railway closed after a flood destroyed the bridge."),
    ("Granite Ledge", "The granite ledge below the cliffs is covered at high tide."),
    ("Wool Fair", "The wool fair of Lowen Ford is held every autumn in the square."),
    ("Harbour Wall", "The harbour wall was rebuilt with stone from the old quarry."),
    ("Quarry Lake", "The old quarry filled with rain water and became a lake for swimmers."),
]
QUESTIONS = ["What colours is the Brindle Point Light painted?", "Which river flows through Lowen Ford?",
             "What is the Orchard Ledger about?", "What stands on Tern Island?", "Which birds nest on Marrow Head?",
             "Why did the Skell Valley railway close?", "When is the granite ledge covered?",
             "When is the wool fair held?", "What was the harbour wall rebuilt with?", "What did the quarry become?"]
K = 2
CONTAMINATED = 4  # topic 4's text is in the English eval set: pair 4 goes, and the negative everywhere
GATE_FAILS = 6  # topic 6's translation is planted empty in the cache: the pt gate drops it


def _negatives(i: int) -> list[int]:
    return [(i + d) % len(TOPICS) for d in (1, 2, 3)]


def _dpr(path: Path) -> None:
    recs = [{"id": f"r{i}", "question": q, "answers": ["x"], "positive_ctxs": [{"title": t, "text": x}],
             "hard_negative_ctxs": [{"title": TOPICS[j][0], "text": TOPICS[j][1]} for j in _negatives(i)]}
            for i, ((t, x), q) in enumerate(zip(TOPICS, QUESTIONS, strict=True))]
    path.write_text(json.dumps(recs), encoding="utf-8")


def _squad(path: Path, contexts: list[str]) -> None:
    paras = [{"context": c, "qas": [{"id": f"e{i}", "question": f"An eval question number {i} nobody asks?",
                                     "answers": []}]} for i, c in enumerate(contexts)]
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "Eval", "paragraphs": paras}]}), encoding="utf-8")


def _config(root: Path, pt_eval: Path | None = None) -> Path:
    _dpr(root / "dpr.json")
    _squad(root / "eval_en.json", [TOPICS[CONTAMINATED][1]])
    paths = {"en": str(root / "eval_en.json")} | ({"pt": str(pt_eval)} if pt_eval else {})
    return write_config(root, json.dumps({
        "name": "negs", "output_dir": str(root / "out"), "cache_dir": str(root / "cache"), "seed": 2,
        "languages": ["en", "pt"], "sources": [{"name": "dpr", "format": "dpr", "path": str(root / "dpr.json"),
                                                "license": "cc0-1.0"}],
        "eval_sets": [{"name": "eval", "format": "squad", "paths": paths}],
        "batching": {"batch_size": 2}, "hard_negatives": {"translate": K},
        "guards": {"max_quality_drop_fraction": 1.0}}), "negs.yaml" if pt_eval is None else "negs-pt.yaml")


@pytest.fixture(scope="module")
def negs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("negs")
    cfg = load_config(_config(root))
    with TranslationCache(cfg.cache_dir / "translations.sqlite") as cache:  # the gate drops an empty output
        cache.put_many(cache_scope(cfg.translator.for_language("pt"), "en", "pt"),
                       [(s, Translation("")) for s in split_sentences(TOPICS[GATE_FAILS][1])])
    return {"root": root, "build": build(cfg)}


def _pt_passages(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Topic -> its pt passage, from the rows whose passage is pt (the same segments, the same model)."""
    return {int(r["pair_id"].split(":r")[1]): r["passage"] for r in rows if r["passage_lang"] == "pt"}


def _all_rows(b: Path) -> list[dict[str, Any]]:
    m = json.loads((b / "manifest.json").read_text())
    return [r for f in m["files"] for r in read_arrow(b / f["path"]).to_pylist()]


def test_negatives_arrive_in_the_passage_language_of_every_view(negs: dict[str, Any]) -> None:
    b = negs["build"]
    verify_build(b)
    m = json.loads((b / "manifest.json").read_text())
    rows = _all_rows(b)
    pt = _pt_passages(rows)
    checked = {"mono": 0, "cross": 0}
    for r in rows:
        i = int(r["pair_id"].split(":r")[1])
        assert i != CONTAMINATED
        english = [j for j in _negatives(i) if j != CONTAMINATED]  # decontaminated in every language
        got = [n["text"] for n in r["hard_negatives"]]
        if r["passage_lang"] == "en":  # every English negative, English
            assert got == [TOPICS[j][1] for j in english]
            continue
        want = [j for j in english[:K] if j != GATE_FAILS]  # the first K, less the one the gate dropped
        assert len(got) == len(want) and all(g != TOPICS[j][1] for g, j in zip(got, want, strict=True))
        for g, j in zip(got, want, strict=True):
            if j in pt:  # the same English text translated for a passage elsewhere in the build
                assert g == pt[j]
                checked["mono" if r["query_lang"] == "pt" else "cross"] += 1
    assert checked["mono"] and checked["cross"], checked  # mono pt and cross en-pt rows both checked
    hn = m["hard_negatives"]
    assert hn["translate"] == K and hn["en"]["dropped"] == {"contaminated:eval": 3}
    pt_stats = hn["languages"]["pt"]
    lost = sum(1 for i in range(len(TOPICS)) if i != CONTAMINATED
               and GATE_FAILS in [j for j in _negatives(i) if j != CONTAMINATED][:K])
    assert pt_stats["dropped"] == {"quality:empty output": lost} and pt_stats["asked"] == pt_stats["kept"] + lost
    drops = [json.loads(x) for x in (b / "drops.jsonl").read_text().splitlines()]
    negative_drops = [d for d in drops if d["stage"] == NEGATIVE_DROP_STAGE]
    assert len(negative_drops) == 3 + lost
    assert all("negative" in d for d in negative_drops) and any(d.get("eval_set") == "eval" for d in negative_drops)
    card = (b / "README.md").read_text()
    assert "## Hard negatives" in card and f"The first {K} hard negative(s)" in card


def test_plan_counts_the_segments_negatives_add(negs: dict[str, Any]) -> None:
    from mt_aug.pipeline.plan import plan, summary_text

    report = plan(load_config(negs["root"] / "negs.yaml"))
    hn = report["hard_negatives"]
    m = json.loads((negs["build"] / "manifest.json").read_text())
    assert hn["translate"] == K and hn["asked"] == m["hard_negatives"]["asked"]
    assert hn["languages"]["pt"]["to_translate"] == 0  # built already: every one in the cache
    assert "hard negatives (translate 2)" in summary_text(report)


def test_a_translated_negative_in_a_pt_eval_set_is_removed(negs: dict[str, Any]) -> None:
    root = negs["root"]
    rows = _all_rows(negs["build"])
    victim = next(n["text"] for r in rows if r["passage_lang"] == "pt" for n in r["hard_negatives"])
    _squad(root / "eval_pt.json", [victim])
    b = build(_config(root, root / "eval_pt.json"))
    verify_build(b)
    hn = json.loads((b / "manifest.json").read_text())["hard_negatives"]["languages"]["pt"]
    assert hn["dropped"].get("contaminated:eval", 0) >= 1
    assert all(n["text"] != victim for r in _all_rows(b) if r["passage_lang"] == "pt" for n in r["hard_negatives"])


def test_train_dataset_and_the_example_use_the_negatives(negs: dict[str, Any], tmp_path: Path, one_thread: None
                                                          ) -> None:
    from test_training import _example

    from mt_aug.training import train_dataset

    example = _example()
    ds = train_dataset(negs["build"])
    assert "hard_negatives" in ds.column_names
    with_negs = example.with_negatives(ds, K, 2)
    assert len(with_negs) == len(ds)  # every row where it was (the sampler's indices)
    for r in with_negs:
        assert r["negative_1"] != r["passage"] and r["negative_2"] != r["passage"]
        if r["hard_negatives"]:
            assert r["negative_1"] == r["hard_negatives"][0]["text"]
    short = short_build(negs["build"], tmp_path / "short", 2)  # two steps: one mono, one cross
    trainer = example.build_trainer(short, tmp_path / "run", epochs=1, save_steps=100, max_seq_length=24,
                                    hard_negatives=K)
    assert trainer.train_dataset.column_names == ["query", "passage", "negative_1", "negative_2"]
    try:
        assert trainer.train().global_step == 2  # MultipleNegativesRankingLoss with the negatives as extra columns
    finally:  # the trainer's accelerate state is process-wide: later tests learn the world size from it
        from accelerate.state import AcceleratorState

        AcceleratorState._reset_state(reset_partial_state=True)


def test_negatives_with_a_dev_split_and_batches_of_one_source(tmp_path: Path) -> None:
    """Both sides of the merge of issues 21 and 24 in one build (fake translations, no model): a
    DPR source with `hard_negatives.translate: 1` and a JSONL source, `dev_split`, batches of one
    source. The held-out pairs' negatives stay out of the shards, the training pairs' are
    translated; the manifest's dev, hard_negatives and source_batches agree with the files
    (verify), and drops.jsonl has the dev pairs and the negatives apart."""
    from typer.testing import CliRunner

    from fixtures.source_builds import QUALITY_OFF, fill_cache, write_source
    from mt_aug.cli import app

    _dpr(tmp_path / "dpr.json")
    write_source(tmp_path / "web.jsonl", "web", 12)
    path = write_config(tmp_path, json.dumps({
        "name": "negs-dev", "output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "cache"), "seed": 2,
        "languages": ["en", "pt"],
        "sources": [{"name": "dpr", "format": "dpr", "path": str(tmp_path / "dpr.json"), "license": "cc0-1.0"},
                    {"name": "web", "format": "jsonl", "path": str(tmp_path / "web.jsonl"), "license": "cc0-1.0",
                     "fields": {"question": "q", "passage": "ctx", "id": "uid"}}],
        "batching": {"batch_size": 2, "group_by": ["source"]}, "hard_negatives": {"translate": 1},
        "dev_split": {"passages": 4}, "quality": QUALITY_OFF, "guards": {"max_quality_drop_fraction": 1.0}}),
        "negs-dev.yaml")
    fill_cache(path)
    got = CliRunner().invoke(app, ["-q", "build", str(path), "--executor", "local"])
    assert got.exit_code == 0, got.output
    b = (tmp_path / "out" / "current").resolve()
    verify_build(b)
    m = json.loads((b / "manifest.json").read_text())
    dev_ids = {json.loads(x)["_id"] for x in (b / "dev" / "beir" / "en" / "queries.jsonl").read_text().splitlines()}
    assert m["dev"]["questions"] == len(dev_ids) == 4
    rows = _all_rows(b)
    assert not dev_ids & {r["pair_id"] for r in rows}
    dpr_pairs = {r["pair_id"] for r in rows if r["source"] == "dpr"}
    hn = m["hard_negatives"]
    assert hn["asked"] == hn["pairs"] == len(dpr_pairs) and hn["languages"]["pt"]["kept"] == hn["asked"]
    for r in rows:
        if r["source"] == "dpr" and r["passage_lang"] == "pt":
            assert len(r["hard_negatives"]) == 1 and r["hard_negatives"][0]["text"] not in dict(TOPICS).values()
    assert set(m["source_batches"]) == {"dpr", "web"}
    drops = [json.loads(x) for x in (b / "drops.jsonl").read_text().splitlines()]
    held = [d for d in drops if d["reason"] == "held out for dev"]
    assert len(held) == 4 and all(d["stage"] != NEGATIVE_DROP_STAGE for d in held)
    assert [d for d in drops if d["stage"] == NEGATIVE_DROP_STAGE] == []  # no eval set, the gate off
