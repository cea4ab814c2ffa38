"""examples/ratio_sweep.py (issue 21): one model per mono ratio trained on the demo build with a
dev split (the shared `dev_build` fixture: real Bergamot translations), the real
SentenceTransformerTrainer and the bundled MiniLM, two steps each; its reports, table, chart
and settings read back; and its bad input, each one line and exit 2 before any training."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from mt_aug.evaluation.report import load_report
from training_builds import short_build

pytestmark = pytest.mark.xdist_group("dev-split")  # the worker that builds the dev build (conftest)
LAREQA = str(Path(__file__).resolve().parent / "fixtures" / "eval" / "lareqa" / "{lang}.json")


@pytest.fixture(autouse=True)
def _no_trainer_state_left():  # type: ignore[no-untyped-def]
    """A Trainer leaves accelerate's process state behind, and HybridBatchSampler reads the
    number of processes from it before WORLD_SIZE (which tests/test_training.py sets): clear it."""
    yield
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


def _sweep():  # type: ignore[no-untyped-def]
    if "ratio_sweep" not in sys.modules:
        spec = importlib.util.spec_from_file_location("ratio_sweep", ROOT / "examples" / "ratio_sweep.py")
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules["ratio_sweep"] = mod
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return sys.modules["ratio_sweep"]


def test_sweep_trains_every_ratio_and_writes_reports_table_and_chart(
        dev_build: Path, tmp_path: Path, one_thread: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    _sweep().main([str(dev_build), "--ratios", "0,0.5,1", "--steps", "2", "--output", str(out), "--seed", "7",
                   "--max-seq-length", "32", "--k", "5", "--eval-paths", LAREQA])
    printed = capsys.readouterr()
    names = ["untrained", "ratio-0", "ratio-0.5", "ratio-1"]
    reports = {n: load_report(out / "reports" / f"{n}.json") for n in names}  # the evaluate report checks
    for name, rep in reports.items():
        assert rep["model"] == name and rep["format"] == "dev-split" and rep["languages"] == ["en", "pt"]
        bias = rep["language_bias"]
        assert set(bias["rank_distance"]["by_language"]) == {"en", "pt"}
        assert 0 <= bias["same_language_first"]["mean"] <= 1 and 0.5 <= bias["same_language_first"]["chance"] <= 1
        assert rep["map"]["multilingual"] is not None and set(rep["map"]["cross"]) == {"en-pt", "pt-en"}
        assert rep["bitext_mining"]["mean"] is not None and rep["ndcg@10"]["mean"] is not None
        assert rep["sweep"]["name"] == name and rep["sweep"]["seed"] == 7
        eval_rep = load_report(out / "reports" / "eval" / f"{name}.json")  # --eval-paths, LAReQA format
        assert eval_rep["model"] == name and eval_rep["format"] == "lareqa" and "language_bias" in eval_rep
    assert reports["untrained"]["sweep"]["mono_ratio"] is None and reports["untrained"]["sweep"]["steps"] == 0
    untrained = reports["untrained"]["model_sha256"]
    trained = {n: reports[n]["model_sha256"] for n in names[1:]}
    assert untrained not in trained.values() and len(set(trained.values())) == 3  # three different models

    summary = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    runs = {r["name"]: r for r in summary["runs"]}
    assert [r["name"] for r in summary["runs"]] == names and summary["steps"] == 2
    assert runs["ratio-0"]["mono_batches"] == 0 and runs["ratio-0"]["cross_batches"] > 0  # X-Y only
    assert runs["ratio-1"]["cross_batches"] == 0 and runs["ratio-1"]["mono_batches"] > 0  # X-X only
    assert runs["ratio-0.5"]["mono_batches"] == runs["ratio-0.5"]["cross_batches"] > 0
    for n in names[1:]:  # the same budget and the same learning-rate schedule for every ratio
        assert runs[n]["trained_steps"] == 2 and len(runs[n]["losses"]) == 2
        assert runs[n]["learning_rates"] == runs["ratio-0"]["learning_rates"]
        assert (out / "models" / n / "config_sentence_transformers.json").is_file()

    table = (out / "compare.txt").read_text(encoding="utf-8")
    header = next(line for line in table.splitlines() if line.startswith("figure"))
    assert header.split()[-4:] == names  # one column per report, the untrained model first
    for row in ("multilingual", "rank distance", "same-lang first", "mono pt", "cross en-pt", "bitext mean",
                "ndcg@10 mean"):
        assert any(line.startswith(row) and "-" not in line.split()[-1] for line in table.splitlines()), row
    assert table.strip() in printed.out
    assert "ratio-0.5: evaluating" in printed.err and "ratio-1: trained 2 steps" in printed.err  # progress
    for png in ("compare.png", "compare-eval.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio-0.5" in (out / "compare-eval.txt").read_text(encoding="utf-8")

    # the same seed again (one ratio; the embedding cache of the first run): the same model and report
    again = tmp_path / "again"
    _sweep().main([str(dev_build), "--ratios", "0.5", "--steps", "2", "--output", str(again), "--seed", "7",
                   "--max-seq-length", "32", "--k", "5", "--cache-dir", str(out / "cache")])
    for name in ("untrained", "ratio-0.5"):
        first, second = (json.loads((d / "reports" / f"{name}.json").read_text(encoding="utf-8")) for d in (out, again))
        if name != "untrained":
            assert first["sweep"].pop("model_path") != second["sweep"].pop("model_path")
        assert first == second, name


def _no_dev_copy(dev_build: Path, tmp_path: Path) -> Path:
    """A build of the first scheduled batch only (one kind), with the dev split's files."""
    b = short_build(dev_build, tmp_path / "one-kind", 1)
    shutil.copytree(dev_build / "dev", b / "dev")
    return b


def test_bad_input_is_one_line_before_any_training(dev_build: Path, demo_build: dict, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sweep = _sweep()
    out = tmp_path / "out"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    one_kind = _no_dev_copy(dev_build, tmp_path)
    cases = [
        ([str(dev_build), "--ratios", "0,1.5", "--steps", "2"], "--ratios: 1.5 is outside [0, 1]"),
        ([str(dev_build), "--ratios", "0,half", "--steps", "2"], "--ratios: 'half' is not a number"),
        ([str(dev_build), "--ratios", "0.5,0.50", "--steps", "2"], "--ratios: 0.50 is given twice"),
        ([str(dev_build), "--ratios", "0,1", "--steps", "0"], "--steps 0: must be at least 1"),
        ([str(dev_build), "--steps", "x"], "argument --steps: invalid int value: 'x'"),
        ([str(demo_build["second"]), "--ratios", "0,1", "--steps", "2"], "the build has no dev split"),
        ([str(tmp_path / "nowhere"), "--ratios", "0", "--steps", "2"], "no such build folder"),
        ([str(one_kind), "--ratios", "0,1", "--steps", "2"], "batches to draw that mix from"),
        ([str(dev_build), "--ratios", "0", "--steps", "2", "--output", str(a_file)], "--output is not a directory"),
        ([str(dev_build), "--ratios", "0", "--steps", "2", "--output", str(a_file / "sub")], "cannot be created"),
        ([str(dev_build), "--ratios", "0", "--steps", "2", "--eval-paths", str(tmp_path / "{lang}.json")],
         "--eval-paths"),
        ([str(dev_build), "--ratios", "0", "--steps", "2", "--model", str(tmp_path / "no-model")],
         "cannot load as a sentence-transformers model"),
    ]
    for argv, message in cases:
        if "--output" not in argv:
            argv = [*argv, "--output", str(out)]
        with pytest.raises(SystemExit) as exc:
            sweep.main(argv)
        *before, err = capsys.readouterr().err.strip().splitlines()
        assert exc.value.code == 2, (argv, err)
        assert err.startswith("ratio_sweep: error: ") and message in err, (argv, err)
        assert all(line.startswith("INFO ") for line in before), before  # progress only: one error line
        assert not out.exists(), argv  # nothing written
