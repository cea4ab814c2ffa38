"""`mt-aug plan`: the stages before translation, counted, and what translation would cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import DEMO_DATA, ROOT, demo_config_text, write_config
from mt_aug.config import load_config
from mt_aug.pipeline.plan import EXAMPLES_PER_REASON, plan, summary_text
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import cache_scope

FIX = ROOT / "tests" / "fixtures"
MT_AUG = [sys.executable, "-m", "mt_aug.cli"]


def _demo(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_config(write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache")))


def test_plan_report_on_the_demo(tmp_path: Path) -> None:
    report = plan(_demo(tmp_path))
    for key in ("input_pairs", "kept_pairs", "sources", "unique_passages", "segments", "estimated_source_tokens",
                "decontamination", "warnings", "dropped"):
        assert key in report, key
    assert (report["input_pairs"], report["kept_pairs"], report["unique_passages"]) == (64, 53, 14)
    src = report["sources"]["demo-squad"]
    assert (src["read"], src["kept"], src["dropped"]) == (64, 53, {"contaminated:demo-eval": 11})
    assert src["read"] == src["kept"] + sum(src["dropped"].values())
    assert len(src["examples"]["contaminated:demo-eval"]) == EXAMPLES_PER_REASON
    assert report["decontamination"]["demo-eval"] | {"methods": None} == {
        "pairs_dropped": 11, "passages_matched": 2, "questions_matched": 3, "methods": None}
    assert report["warnings"] == ["no eval file for language 'pt': its translated texts were not checked"]
    drops = report["dropped"]
    assert len(drops) == 11 and {d["reason"] for d in drops} == {"contaminated:demo-eval"}
    assert all(d["source"] == "demo-squad" and d["id"].startswith("demo-q") for d in drops)
    assert all({"eval_set", "eval_id", "method", "field"} <= set(d) for d in drops)
    seg = report["segments"]["pt"]
    assert seg["cached"] == 0 and seg["to_translate"] == seg["unique"] > 0 and seg["total"] > seg["unique"]
    assert report["estimated_source_tokens"] == seg["est_source_tokens"] > seg["to_translate"]
    assert "53 pairs kept on 14 unique passages" in summary_text(report)
    assert not (tmp_path / "cache").exists()  # planning creates no cache


def test_plan_counts_what_the_cache_already_holds(tmp_path: Path) -> None:
    cfg = _demo(tmp_path)
    report = plan(cfg)
    from mt_aug.pipeline.builder import run_source_side
    from mt_aug.pipeline.executor import LocalExecutor

    segs = run_source_side(cfg, LocalExecutor()).unique
    with TranslationCache(cfg.cache_dir / "translations.sqlite") as cache:
        scope = cache_scope(cfg.translator.for_language("pt"), "en", "pt")
        cache.put_many(scope, [(s, Translation("x")) for s in segs[:10]])
        other = cache_scope(cfg.translator.for_language("pt").model_copy(update={"beam_size": 4}), "en", "pt")
        cache.put_many(other, [(s, Translation("y")) for s in segs[10:20]])  # another decoding: not a hit
    again = plan(cfg)["segments"]["pt"]
    assert again["cached"] == 10 and again["to_translate"] == report["segments"]["pt"]["to_translate"] - 10
    assert again["est_source_tokens"] < report["segments"]["pt"]["est_source_tokens"]


def test_plan_over_every_local_format(tmp_path: Path) -> None:
    blanks = "".join(json.dumps({"q": "", "p": f"passage {i}"}) + "\n" for i in range(8))
    (tmp_path / "blank.jsonl").write_text(blanks, encoding="utf-8")
    text = demo_config_text(tmp_path / "out", tmp_path / "cache").split("sources:")[0] + f"""sources:
  - name: squad
    format: squad
    path: {DEMO_DATA / "demo_squad.json"}
  - name: dpr
    format: dpr
    path: {FIX / "dpr_small.json"}
  - name: marco
    format: msmarco
    queries: {FIX / "msmarco" / "queries.tsv"}
    collection: {FIX / "msmarco" / "collection.tsv"}
    qrels: {FIX / "msmarco" / "qrels.tsv"}
  - name: lines
    format: jsonl
    path: {FIX / "mapped.jsonl"}
    strict: false
    fields: {{question: query, passage: doc.body, title: doc.title, id: qid, answers: gold}}
  - name: blanks
    format: jsonl
    path: {tmp_path / "blank.jsonl"}
    fields: {{question: q, passage: p}}
  - name: table
    format: csv
    path: {FIX / "mapped.csv"}
    strict: false
    max_passage_words: 8
    fields: {{question: question, passage: context, title: title, id: id, answers: answer}}
eval_sets: []
"""
    report = plan(load_config(write_config(tmp_path, text)))
    s = report["sources"]
    assert {k: (v["read"], v["kept"]) for k, v in s.items()} == {
        "squad": (64, 64), "dpr": (6, 3), "marco": (11, 5), "lines": (6, 3), "blanks": (8, 0), "table": (5, 1)}
    for v in s.values():
        assert v["read"] == v["kept"] + sum(v["dropped"].values())
    assert report["input_pairs"] == 100 and report["kept_pairs"] == 76
    assert s["dpr"]["dropped"]["duplicate"] == 1 and s["lines"]["dropped"]["duplicate"] == 1
    assert s["table"]["dropped"] == {"empty passage": 1, "malformed record": 1, "passage too long": 2}
    assert len(s["blanks"]["examples"]["empty question"]) == EXAMPLES_PER_REASON
    assert s["blanks"]["dropped"]["empty question"] == 8
    marco = s["marco"]["examples"]
    assert marco["missing passage"][0]["error"].endswith(f"passage 99 is not in {FIX / 'msmarco' / 'collection.tsv'}")
    ids = {(d["source"], d["id"], d["reason"]) for d in report["dropped"]}
    assert ("lines", "m6", "duplicate") in ids and ("table", "c4", "malformed record") in ids
    assert report["warnings"] == ["no eval_sets configured: nothing was decontaminated"]


def test_plan_on_squad_dev_without_eval_sets(tmp_path: Path, shared_data: Path) -> None:
    text = f"""name: squad-dev
output_dir: {tmp_path / "out"}
languages: [en, pt]
sources:
  - name: squad-dev
    format: squad
    path: {shared_data / "squad" / "dev-v1.1.json"}
cache_dir: {tmp_path / "cache"}
"""
    report = plan(load_config(write_config(tmp_path, text)))
    assert report["input_pairs"] == 10570 and report["unique_passages"] == 2067
    assert report["sources"]["squad-dev"]["dropped"] == {"duplicate": 39}
    assert report["kept_pairs"] == 10531


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MT_AUG, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_plan_writes_the_report(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache"))
    r = _run("plan", str(cfg), "--report", str(tmp_path / "plan.json"))
    assert r.returncode == 0, r.stderr
    assert "64 records read" in r.stdout and f"report: {tmp_path / 'plan.json'}" in r.stdout
    assert json.loads((tmp_path / "plan.json").read_text())["kept_pairs"] == 53


def test_cli_plan_bad_config_and_bad_source_exit_2(tmp_path: Path) -> None:
    base = demo_config_text(tmp_path / "out", tmp_path / "cache")
    cfg = write_config(tmp_path, base.replace("demo_squad.json", "missing.json"))
    r = _run("plan", str(cfg))
    assert r.returncode == 2 and "sources[0].path: no such file" in r.stderr
    bad = tmp_path / "cut.json"
    bad.write_text(json.dumps([{"question": "q?", "positive_ctxs": [{"text": "p"}]}] * 2)[:-20], encoding="utf-8")
    cfg = write_config(tmp_path, base.replace("format: squad\n    path: " + str(DEMO_DATA / "demo_squad.json"),
                                              f"format: dpr\n    path: {bad}"), "cut.yaml")
    r = _run("plan", str(cfg))
    err = [line for line in r.stderr.splitlines() if line.startswith("mt-aug: error:")]
    assert r.returncode == 2 and len(err) == 1 and "cut.json: record 1" in err[0] and "truncated?" in err[0], r.stderr
    assert not (tmp_path / "out").exists()
