"""`mt-aug audit` (issue 22): a labelling sheet of the demo build (its real Bergamot output), a
labelled sheet's stratified estimate written into the manifest and the card, `verify` over it,
and the stratified estimator itself."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.quality.audit import COLUMNS, SheetRow, Segment, read_labels, sheet_text
from mt_aug.quality.estimate import Labelled, simple, stratified, wilson

runner = CliRunner()


def test_the_stratified_estimator() -> None:
    # the unseen-text figures: 35 of 58 drops bad, 59 of a random 250 of 942 kept bad
    rows = [Labelled("drop", True, i < 35) for i in range(58)] + [Labelled("kept", False, i < 59) for i in range(250)]
    e = stratified(rows, {"drop": 58, "kept": 942})
    assert (e.precision.value, e.precision.lo, e.precision.hi) == pytest.approx((35 / 58, *wilson(35, 58)))
    assert (e.bad_among_kept.lo, e.bad_among_kept.hi) == pytest.approx(wilson(59, 250))  # one stratum: plain Wilson
    assert e.recall.value == pytest.approx(35 / (35 + 942 * 59 / 250))  # ~0.14: kept rows weigh 942/250 each
    assert e.recall.lo < e.recall.value < e.recall.hi
    # another gate measured on the same rows: its drops among the kept sample stand for 942/250 segments each
    other = [Labelled(r.stratum, r.dropped or (r.stratum == "kept" and i % 10 == 0), r.bad) for i, r in enumerate(rows)]
    o = stratified(other, {"drop": 58, "kept": 942})
    tp, dropped = 35 + 942 / 250 * sum(1 for i, r in enumerate(rows) if r.stratum == "kept" and i % 10 == 0 and r.bad), \
        58 + 942 / 250 * 25
    assert o.precision.value == pytest.approx(tp / dropped)
    assert simple([Labelled("x", True, True), Labelled("x", True, False), Labelled("x", False, True)]).as_dict()[
        "precision"]["value"] == 0.5
    with pytest.raises(ValueError, match="no population size"):
        stratified([Labelled("other", True, True)], {"drop": 1, "kept": 1})


def test_cells_are_escaped_for_spreadsheets_and_read_back(tmp_path: Path) -> None:
    row = SheetRow("b/pt/drop/abc", Segment("drop", "=SUM(A1)", "+1 -2 @x", "number changed", "n"), "bad", "-note")
    text = sheet_text([row], "\t")
    got = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert got[0] == list(COLUMNS) and got[1][3:5] == ["'=SUM(A1)", "'+1 -2 @x"] and got[1][6] == "'-note"
    path = tmp_path / "s.tsv"
    path.write_text(text, encoding="utf-8-sig")
    (lab,) = read_labels(path)
    assert (lab.id, lab.label, lab.note) == ("b/pt/drop/abc", "bad", "-note")


@pytest.fixture()
def build(demo_build: dict, tmp_path: Path) -> Path:  # type: ignore[type-arg]
    dst = tmp_path / "build"
    shutil.copytree(demo_build["first"], dst)
    return dst


def _write_sheet(build: Path, path: Path, n: int = 10) -> list[dict[str, str]]:
    r = runner.invoke(app, ["audit", str(build), "--lang", "pt", "--n", str(n), "--output", str(path), "--seed", "3"])
    assert r.exit_code == 0, r.output
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter="\t" if path.suffix == ".tsv"
                               else ","))


def _save(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS), delimiter="\t")
        w.writeheader()
        w.writerows(rows)


def test_a_labelled_sheet_round_trips_into_the_manifest_card_and_verify(build: Path, tmp_path: Path) -> None:
    rows = _write_sheet(build, tmp_path / "pt.tsv")
    assert rows[0].keys() == set(COLUMNS)
    manifest = json.loads((build / "manifest.json").read_text())
    q = manifest["translation"]["pt"]["quality"]
    n_drop = sum(q["dropped"].values())
    drops = [r for r in rows if r["stratum"] == "drop"]
    kept = [r for r in rows if r["stratum"] == "kept"]
    assert len(drops) == len({(r["source"], r["translation"]) for r in drops}) <= n_drop and len(kept) == 10
    assert all(r["id"].startswith(f"{manifest['build_id']}/pt/") and r["label"] == "" for r in rows)
    assert all(r["reason"] for r in drops) and not any(r["reason"] for r in kept)
    assert _write_sheet(build, tmp_path / "again.csv") == rows  # seeded: the same sample, CSV this time
    # before an audit the card says the residual errors are unknown, with the measured figures
    card = (build / "README.md").read_text()
    assert "**Residual errors: unknown.**" in card and "Best estimate, the gate's figures for bergamot" in card
    for i, r in enumerate(rows):  # a person's labels: the first drop good, the others bad; every third kept bad
        r["label"] = "good" if r is drops[0] else ("bad" if r["stratum"] == "drop" or i % 3 == 0 else "good")
    _save(tmp_path / "labelled.tsv", rows)
    got = runner.invoke(app, ["audit", str(build), "--labels", str(tmp_path / "labelled.tsv")])
    assert got.exit_code == 0, got.output
    assert f"pt: {len(rows)} labelled" in got.output
    m = json.loads((build / "manifest.json").read_text())
    a = m["audit"]["languages"]["pt"]
    bad_kept = sum(1 for r in kept if r["label"] == "bad")
    assert a["precision"]["value"] == round((len(drops) - 1) / len(drops), 4)
    assert a["bad_among_kept"]["value"] == round(bad_kept / len(kept), 4)
    n_kept = q["judged"] - n_drop
    assert a["strata"]["kept"]["population"] == n_kept and a["strata"]["drop"]["population"] == n_drop
    assert a["recall"]["value"] == pytest.approx(
        n_drop * (len(drops) - 1) / len(drops) / (n_drop * (len(drops) - 1) / len(drops) + n_kept * bad_kept / len(kept)),
        abs=1e-4)
    assert m["checksums"]["audit/labels.tsv"] == m["audit"]["sha256"]
    card = (build / "README.md").read_text()
    assert f"**Audited**: {len(rows)} segments labelled by a person" in card and "bad among kept" in card
    assert "Residual errors: unknown" not in card
    ok = runner.invoke(app, ["verify", str(build)])
    assert ok.exit_code == 0, ok.output
    # the figures edited (and the card rendered again from them, so only the audit can tell): verify fails
    m["audit"]["languages"]["pt"]["precision"]["value"] = 0.99
    (build / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True))
    runner.invoke(app, ["card", str(build)])
    bad = runner.invoke(app, ["verify", str(build)])
    assert bad.exit_code == 1 and "audit.languages.pt.precision is" in bad.output
    # the kept labels edited: their checksum fails
    m["audit"]["languages"]["pt"]["precision"]["value"] = a["precision"]["value"]
    (build / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True))
    sheet = build / "audit" / "labels.tsv"
    sheet.write_text(sheet.read_text().replace("\tbad\t", "\tgood\t", 1))
    bad = runner.invoke(app, ["verify", str(build)])
    assert bad.exit_code == 1 and "audit/labels.tsv: sha256" in bad.output


@pytest.mark.parametrize("edit,message", [
    (lambda r: r.update(id=r["id"][:-4] + "beef"), "unknown id"),
    (lambda r: r.update(label="maybe"), "label 'maybe' is not one of good, bad"),
    (lambda r: r.update(id="20990101T000000Z-00000000/" + r["id"].split("/", 1)[1]), "a sheet of another build"),
])
def test_bad_sheets_are_one_line_and_exit_2(build: Path, tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    rows = _write_sheet(build, tmp_path / "pt.tsv", n=2)
    for r in rows:
        r["label"] = "good"
    edit(rows[0])
    _save(tmp_path / "bad.tsv", rows)
    before = (build / "manifest.json").read_bytes()
    got = runner.invoke(app, ["audit", str(build), "--labels", str(tmp_path / "bad.tsv")])
    assert got.exit_code == 2 and message in got.output
    assert got.output.startswith("mt-aug: error: ") and len(got.output.strip().splitlines()) == 1
    assert (build / "manifest.json").read_bytes() == before and not (build / "audit").exists()  # nothing written


def test_audit_usage_errors(build: Path, tmp_path: Path) -> None:
    for args, message in ((["--lang", "pt", "--output", str(tmp_path / "s.xlsx")], "must end in .tsv or .csv"),
                          (["--lang", "xx", "--output", str(tmp_path / "s.tsv")], "'xx' is not a target language"),
                          (["--output", str(tmp_path / "s.tsv")], "--lang: missing"),
                          ([], "give --output SHEET"),
                          (["--labels", str(tmp_path / "none.tsv")], "no such file")):
        got = runner.invoke(app, ["audit", str(build), *args])
        assert got.exit_code == 2 and message in got.output, (args, got.output)
