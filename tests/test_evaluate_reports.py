"""`mt-aug evaluate --compare` on many reports, its PNG chart, and reports written and read
safely: atomic writes (an injected failure leaves the old report whole), one-line errors for
reports of the wrong shape. Reports come from fast BM25 runs on the hand-written fixtures."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.evaluation.report import compare_many, load_report
from tests.test_cli_errors import _deny, one_error

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
HAND = str(FIXTURES / "lareqa" / "{lang}.json")
ALIGNED = str(FIXTURES / "aligned" / "{lang}.json")
BEIR = str(FIXTURES / "beir_hand" / "{lang}")
runner = CliRunner()


def _bm25(tmp: Path, name: str, *args: str) -> Path:
    out = tmp / name
    r = runner.invoke(app, ["evaluate", "--model", "bm25", *args, "--report", str(out)])
    assert r.exit_code == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    hand = _bm25(tmp, "hand.json", "--paths", HAND)
    aligned = _bm25(tmp, "aligned.json", "--paths", ALIGNED)
    beir = _bm25(tmp, "beir.json", "--format", "beir", "--paths", BEIR)
    old = json.loads(hand.read_text(encoding="utf-8"))  # a report of before language bias
    del old["language_bias"]
    old["model"] = "old-model"
    (tmp / "old.json").write_text(json.dumps(old), encoding="utf-8")
    return {"hand": hand, "aligned": aligned, "beir": beir, "old": tmp / "old.json"}


def test_compare_three_reports_and_plot(reports: dict[str, Path], tmp_path: Path) -> None:
    files = [reports["old"], reports["aligned"], reports["beir"]]
    plot = tmp_path / "sweep" / "chart.png"
    r = runner.invoke(app, ["evaluate", "--compare", *map(str, files), "--plot", str(plot), "--names", "old,al,beir"])
    assert r.exit_code == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == f"old: {files[0]}  (model old-model)" and out[2] == f"beir: {files[2]}  (model bm25)"
    docs = [load_report(f) for f in files]
    header = next(line for line in out if line.startswith("figure"))
    assert header.split()[-3:] == ["old", "al", "beir"]  # one column per report, no difference column

    def row(label: str) -> list[str]:
        line = next(x for x in out if x.startswith(label + " ") or x == label)
        return line[24:].split()

    ml = [f"{100 * d['map']['multilingual']:.1f}" for d in docs[:2]]
    assert row("multilingual") == [*ml, "-"]  # the BEIR report has no LAReQA figure
    # the old report has no language bias: '-'; the aligned one has it
    rd = docs[1]["language_bias"]["rank_distance"]["mean"]
    assert row("rank distance") == ["-", f"{rd:.2f}", "-"]
    assert row("same-lang first")[0] == "-"
    assert row("mono de")[1] == "-" and row("mono pt")[0] == "-"  # languages of one report only
    assert row("bitext mean") == ["-", f"{100 * docs[1]['bitext_mining']['mean']:.1f}", "-"]
    assert row("ndcg@10 mean") == ["-", "-", f"{100 * docs[2]['ndcg@10']['mean']:.1f}"]
    assert row("ndcg@10 de") == ["-", "-", f"{100 * docs[2]['ndcg@10']['de']:.1f}"]
    assert f"plot: {plot}" in r.stdout

    from PIL import Image

    raw = plot.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(plot) as im:
        im.load()  # decodes every pixel: a whole PNG
        # 100 dpi, 1.2 in per report + 3 (at least 6) wide; 3.2 in per panel: retrieval,
        # same-language first, rank distance
        assert im.format == "PNG" and im.size == (660, 960)
    assert int.from_bytes(raw[16:20], "big") == 660 and int.from_bytes(raw[20:24], "big") == 960
    assert sorted(p.name for p in plot.parent.iterdir()) == ["chart.png"]  # no temporary file left

    # Without --names, the chart is labelled by each report's model (by file where two share one).
    from mt_aug.evaluation.run import compare_labels

    assert compare_labels(docs, files, None) == ["old.json", "aligned.json", "beir.json"]
    assert compare_labels(docs[:2], files[:2], None) == ["old-model", "bm25"]


def test_two_reports_keep_the_difference_column(reports: dict[str, Path]) -> None:
    a, b = load_report(reports["hand"]), load_report(reports["old"])
    text = compare_many([a, b], ["a", "b"])
    line = next(x for x in text.splitlines() if x.startswith("multilingual"))
    assert line.split()[-1] == "+0.0"  # B - A
    assert next(x for x in text.splitlines() if x.startswith("rank distance")).split()[-2:] == ["-", "-"]


def test_unwritable_plot_is_one_line_and_writes_nothing(reports: dict[str, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    files = [str(reports["hand"]), str(reports["aligned"])]
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", *files, "--plot", str(tmp_path / "afile" / "p.png")]))
    assert msg == f"mt-aug: error: {tmp_path / 'afile'}: --plot's folder is not a directory (Not a directory)"
    (tmp_path / "locked").mkdir()
    _deny(monkeypatch, tmp_path / "locked")
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", *files, "--plot", str(tmp_path / "locked" / "p.png")]))
    assert msg == f"mt-aug: error: {tmp_path / 'locked'}: --plot's folder is not writable (Permission denied)"
    assert not any((tmp_path / "locked").iterdir())
    monkeypatch.undo()

    # A failure while the PNG is written (a full disk): one line, an older chart kept whole.
    from matplotlib.figure import Figure

    def full_disk(self, fname, **kw):  # type: ignore[no-untyped-def]
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    plot = tmp_path / "p.png"
    plot.write_bytes(b"old chart")
    monkeypatch.setattr(Figure, "savefig", full_disk)
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", *files, "--plot", str(plot)]))
    assert msg == f"mt-aug: error: {plot}: cannot write the chart (No space left on device)"
    assert plot.read_bytes() == b"old chart" and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "locked",
                                                                                                 "p.png"]


def test_report_write_failure_keeps_the_old_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate --report writes a temporary file and renames it: a failure after encoding (here
    the disk filling up as the new report is flushed) leaves the existing report as it was."""
    report = tmp_path / "r.json"
    report.write_text('{"the": "old report"}\n', encoding="utf-8")
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--paths", HAND, "--report", str(report)])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert one_error(r) == f"mt-aug: error: {report}: cannot write the report (No space left on device)"
    assert report.read_text(encoding="utf-8") == '{"the": "old report"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind
    r = runner.invoke(app, ["evaluate", "--model", "bm25", "--paths", HAND, "--report", str(report)])
    assert r.exit_code == 0 and load_report(report)["model"] == "bm25"


def _bad(tmp: Path, name: str, doc: object) -> str:
    p = tmp / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(p)


def test_compare_refuses_reports_of_the_wrong_shape(reports: dict[str, Path], tmp_path: Path) -> None:
    good = json.loads(reports["hand"].read_text(encoding="utf-8"))

    def edited(**changes: object) -> dict:
        doc = json.loads(json.dumps(good))
        for key, value in changes.items():
            node = doc
            *parents, last = key.split("__")
            for part in parents:
                node = node[part]
            if value is KeyError:
                del node[last]
            else:
                node[last] = value
        return doc

    cases = [
        (edited(map=[1, 2]), "map: expected an object, got list"),
        (edited(map__multilingual="0.5"), "map.multilingual: expected a number or null, got str"),
        (edited(k=KeyError), "not an `mt-aug evaluate` report (missing k)"),
        (edited(language_bias__rank_distance__by_language=[0.1]),
         "language_bias.rank_distance.by_language: expected an object, got list"),
        (edited(language_bias__same_language_first__chance=KeyError), "language_bias.same_language_first.chance: missing"),
        (edited(model=3), "model: expected a string, got int"),
        (edited(questions__en="2"), "questions.en: expected an integer, got str"),
        ([good], "not an `mt-aug evaluate` report (a JSON object, not list)"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deep to read"),
    ]
    for i, (doc, what) in enumerate(cases):
        bad = _bad(tmp_path, f"bad{i}.json", doc)
        msg = one_error(runner.invoke(app, ["evaluate", "--compare", str(reports["hand"]), bad]))
        assert msg == f"mt-aug: error: {bad}: {what}", msg
    beir = json.loads(reports["beir"].read_text(encoding="utf-8"))
    beir["ndcg@10"]["en"] = "high"
    bad = _bad(tmp_path, "beir-bad.json", beir)
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", str(reports["beir"]), bad]))
    assert msg == f"mt-aug: error: {bad}: ndcg@10.en: expected a number or null, got str"
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", str(reports["hand"])]))
    assert msg == "mt-aug: error: --compare: give two or more reports (got 1)"
    msg = one_error(runner.invoke(app, ["evaluate", "--compare", str(reports["hand"]), str(reports["old"]),
                                        "--names", "a"]))
    assert msg == "mt-aug: error: --names 'a': 1 name(s) for 2 reports (one non-empty name each)"
