"""`mt-aug export --format parquet`: Parquet files of a build and a croissant.json whose
mlcroissant `records()` yield every row of every record set; the build's own croissant.json
stays valid metadata of the Arrow files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mt_aug import cli
from mt_aug.release.export import ExportError, export_parquet
from training_builds import demo, demo_env  # noqa: F401  (fixtures)


def mt_aug(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, list(args))


def _arrow(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_stream(src).read_all()


def test_export_records_read_every_row_of_every_record_set(demo: Path, tmp_path: Path) -> None:
    import mlcroissant as mlc

    out = tmp_path / "pq"
    res = mt_aug("-q", "export", str(demo), "--format", "parquet", "--output", str(out))
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == str(out / "croissant.json")
    m = json.loads((demo / "manifest.json").read_text())
    for f in m["files"]:  # same rows, one row group per training batch
        arrow = _arrow(demo / f["path"])
        parquet = pq.ParquetFile(out / f["path"].replace(".arrow", ".parquet"))
        assert parquet.metadata.num_row_groups == f["batches"]
        assert parquet.read().equals(arrow)
    ds = mlc.Dataset(jsonld=str(out / "croissant.json"))
    names = sorted(r.name for r in ds.metadata.record_sets)
    assert names == ["cross-en-pt", "cross-pt-en", "mono-en", "mono-pt", "schedule"]
    for name in names:
        rows = list(ds.records(name))
        if name == "schedule":
            sched = _arrow(demo / "schedule.arrow")
            assert [r["schedule/batch_id"].decode() for r in rows] == sched.column("batch_id").to_pylist()
            continue
        kind, group = name.split("-", 1)
        want = pa.concat_tables(_arrow(demo / f["path"]) for f in m["files"]
                                if f["kind"] == kind and f["group"] == group).to_pydict()
        assert len(rows) == len(want["query"]) > 0
        assert sorted(r[f"{name}/pair_id"].decode() for r in rows) == sorted(want["pair_id"])
        assert {r[f"{name}/query"].decode() for r in rows} == set(want["query"])
    # the build's own croissant.json: still valid metadata of its Arrow files
    own = mlc.Dataset(jsonld=str(demo / "croissant.json"))
    assert sorted(r.name for r in own.metadata.record_sets) == names[:-1]
    assert {d["encodingFormat"] for d in json.loads((demo / "croissant.json").read_text())["distribution"]} == {
        "application/vnd.apache.arrow.stream"}
    # deterministic: the same build exports to the same bytes
    again = export_parquet(demo, tmp_path / "again")
    assert again.read_text() == (out / "croissant.json").read_text()


def test_export_bad_input(demo: Path, tmp_path: Path) -> None:
    res = mt_aug("export", str(demo), "--format", "csv", "--output", str(tmp_path / "x"))
    assert res.exit_code == 2 and res.stderr.strip() == "mt-aug: error: --format 'csv': must be one of parquet"
    res = mt_aug("export", str(tmp_path / "nope"), "--output", str(tmp_path / "x"))
    assert res.exit_code == 2 and res.stderr.strip() == f"mt-aug: error: {tmp_path / 'nope'}: no such build folder (no manifest.json)"
    b = tmp_path / "b"
    shutil.copytree(demo, b)
    (b / "mono/pt/part-00000.arrow").write_bytes(b"not arrow")
    with pytest.raises(ExportError, match=r"b: mono/pt/part-00000\.arrow: 9 bytes, manifest\.json says \d+"):
        export_parquet(b, tmp_path / "y")
    (b / "mono/pt/part-00000.arrow").write_bytes(b"n" * (demo / "mono/pt/part-00000.arrow").stat().st_size)
    with pytest.raises(ExportError, match=r"b: mono/pt/part-00000\.arrow: sha256 differs from manifest\.json"):
        export_parquet(b, tmp_path / "y")
    with pytest.raises(ExportError, match="another directory than the build"):
        export_parquet(demo, demo)
    assert not (tmp_path / "y").exists()
