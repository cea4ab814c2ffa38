"""The data card: every number from the build's own files, licenses carried over, diffs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from mt_aug.release.card import CardError, check_against_disk, diff, load_manifest, render, rerender, stable


@pytest.fixture(scope="module")
def demo(demo_build: dict) -> Path:
    """The real demo config, built (without Prefect) into a temporary folder with a fresh cache."""
    return demo_build["first"]  # the first build: from a fresh cache, as `make demo-card` builds


def _shard_counts(build: Path) -> dict[str, dict[str, int]]:
    import pyarrow as pa

    out: dict[str, dict[str, int]] = {"rows": {}, "batches": {}}
    for f in build.glob("*/*/*.arrow"):
        with pa.memory_map(str(f)) as src:
            table = pa.ipc.open_stream(src).read_all()
        key = f"{f.parent.parent.name}/{f.parent.name}"
        out["rows"][key] = out["rows"].get(key, 0) + table.num_rows
        out["batches"][key] = out["batches"].get(key, 0) + len(set(table.column("batch_id").to_pylist()))
    return out


def test_card_numbers_equal_the_shards(demo: Path) -> None:
    text = (demo / "README.md").read_text()
    m = load_manifest(demo)
    counts = _shard_counts(demo)
    rows = sum(counts["rows"].values())
    batches = sum(counts["batches"].values())
    assert f"{rows} rows in {batches} batches" in text
    for key, n in counts["batches"].items():
        kind, group = key.split("/")
        assert m["batches"][kind][group] == n
        assert re.search(rf"\| {kind} \| {group} \| {n} \| {m['leftovers'][kind][group]} \|", text)
    for f in m["files"]:
        assert f"| `{f['path']}` | {counts['rows'][f['path'].rsplit('/', 1)[0]]} |" in text
        assert f["sha256"] in text
    src = m["sources"]["demo-squad"]
    assert f"| demo-squad | {src['read']} | {src['kept']} |" in text
    assert src["read"] == 64 and src["kept"] == 53
    t = m["translation"]["pt"]
    assert f"| pt | {t['segments']} | {t['unique']} | {t['cached']} | {t['translated']} |" in text
    fm = yaml.safe_load(text.split("---")[1])
    for key in ("language", "multilinguality", "language_creators", "annotations_creators", "source_datasets",
                "task_categories", "license", "size_categories", "pretty_name", "configs"):
        assert key in fm, key
    assert fm["license"] == "cc0-1.0" and fm["task_categories"] == ["text-retrieval"]


def test_card_is_a_pure_function_of_the_manifest(demo: Path) -> None:
    before = (demo / "README.md").read_text()
    rerender(demo)
    assert (demo / "README.md").read_text() == before


def test_demo_card_in_data_cards_is_current(demo: Path) -> None:
    checked_in = ROOT / "data_cards" / "demo-build.md"
    assert checked_in.is_file(), "run `make demo-card`"
    assert render(stable(load_manifest(demo))) == checked_in.read_text(), "data_cards/demo-build.md is stale: run `make demo-card`"


def test_croissant_is_valid(demo: Path) -> None:
    import mlcroissant as mlc

    doc = json.loads((demo / "croissant.json").read_text())
    assert doc["@type"] == "sc:Dataset"
    ds = mlc.Dataset(jsonld=str(demo / "croissant.json"))
    assert sorted(r.name for r in ds.metadata.record_sets) == ["cross-en-pt", "cross-pt-en", "mono-en", "mono-pt"]


def test_card_refuses_a_manifest_the_files_disagree_with(demo: Path, tmp_path: Path) -> None:
    b = tmp_path / "b"
    shutil.copytree(demo, b)
    m = json.loads((b / "manifest.json").read_text())
    m["files"][0]["rows"] += 4
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CardError, match=rf"{re.escape(m['files'][0]['path'])}: holds \d+ rows, manifest.json says"):
        rerender(b)
    del m["translation"]
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CardError, match="missing field 'translation'"):
        rerender(b)


def test_non_commercial_source_warns_and_license_lists_all(demo: Path) -> None:
    m = load_manifest(demo)
    m["sources"]["msmarco"] = {"read": 10, "kept": 10, "dropped": {}, "license": "other", "commercial_use": False}
    text = render(m)
    fm = yaml.safe_load(text.split("---")[1])
    assert fm["license"] == ["cc0-1.0", "other"]
    head = text.split("---", 2)[2][:400]
    assert "Warning: non-commercial data" in head and "msmarco" in head


def test_license_comes_from_data_cards_when_config_has_none(tmp_path: Path) -> None:
    from mt_aug.config import BuildConfig, SourceConfig
    from mt_aug.release.manifest import license_info as _license_info

    cfg = BuildConfig(name="t", output_dir=tmp_path, languages=["en", "pt"], sources=[
        SourceConfig(name="ms-marco", format="squad", path=tmp_path / "x.json"),
        SourceConfig(name="mine", format="squad", dataset="rajpurkar/squad", split="train"),
    ])
    info = _license_info(cfg)
    assert info["ms-marco"]["commercial_use"] is False
    assert info["mine"]["license"] == "cc-by-sa-4.0" and info["mine"]["commercial_use"] is True


def test_diff_of_two_builds_with_a_changed_source(demo: Path, tmp_path: Path) -> None:
    from mt_aug.pipeline import build

    src = json.loads((ROOT / "examples/data/demo_squad.json").read_text())
    src["data"] = src["data"][:-1]  # drop the last article
    (tmp_path / "less.json").write_text(json.dumps(src))
    cfg_text = (ROOT / "configs/demo.yaml").read_text().replace("../examples/data/demo_squad.json",
                                                                   str(tmp_path / "less.json"))
    cfg_text = cfg_text.replace("../examples/data/", str(ROOT / "examples/data") + "/")
    (tmp_path / "demo.yaml").write_text(cfg_text)
    shutil.copytree(demo.parent.parent.parent / "cache", tmp_path / "cache")  # translations already cached
    other = build(tmp_path / "demo.yaml", output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    text = diff(load_manifest(demo), load_manifest(other))
    assert "sources.demo-squad.read: 64 -> 56 (-8)" in text
    assert "counts.kept_pairs: 53 -> " in text
    assert "sources.demo-squad.files.path.sha256" in text
    assert diff(load_manifest(demo), load_manifest(demo)).endswith("no changes\n")


def test_configs_name_exact_files_and_older_builds_render_as_they_were_written(demo: Path) -> None:
    """Format 4 cards list each config's files (a stray file in the folder is not read); a card
    of an older build renders as it did (its glob), so `verify` still passes on it."""
    from mt_aug.release.croissant import croissant

    m = load_manifest(demo)
    configs = yaml.safe_load(render(m).split("---")[1])["configs"]
    assert configs[0]["data_files"] == [{"split": "train", "path": ["mono/en/part-00000.arrow"]}]
    assert {d["includes"] for d in croissant(m)["distribution"] if "includes" in d} >= {"mono/en/part-*.arrow"}
    m["format_version"] = 3
    configs = yaml.safe_load(render(m).split("---")[1])["configs"]
    assert configs[0]["data_files"] == [{"split": "train", "path": "mono/en/*.arrow"}]
    assert {d["includes"] for d in croissant(m)["distribution"] if "includes" in d} >= {"mono/en/*.arrow"}


def test_check_against_disk_passes_on_a_real_build(demo: Path) -> None:
    check_against_disk(demo, load_manifest(demo))
