"""The pipeline as library code: the guard before publishing, published files without machine
details, the per-source accounting merged from the stages."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, write_config
from mt_aug.pipeline import build
from mt_aug.release.guard import GuardFailed


def _broken_jsonl(tmp_path: Path) -> Path:
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps({"q": f"Question {i}?", "ctx": f"Passage {i}."}) + "\n"
                                               for i in range(5)), encoding="utf-8")
    return write_config(tmp_path, f"""
name: broken
output_dir: {tmp_path / 'out'}
cache_dir: {tmp_path / 'cache'}
languages: [en, pt]
sources:
  - {{name: mine, format: jsonl, path: {tmp_path / 'qa.jsonl'}, strict: false,
     fields: {{question: q, passage: body}}, license: cc0-1.0}}
""")


def test_an_empty_corpus_is_not_published(tmp_path: Path) -> None:
    """Every record malformed (fields.passage names a missing key) under strict: false: the
    build fails before publishing, naming the source and its top drop reasons; `current` is
    not created; the report and the drops stay for inspection."""
    cfg = _broken_jsonl(tmp_path)
    with pytest.raises(GuardFailed, match=r"source 'mine': 5 of 5 records \(100%\) are malformed.*malformed record: 5"):
        build(cfg)
    out = tmp_path / "out"
    assert not (out / "current").exists()
    failed = list((out / "builds").glob(".failed-*"))
    assert len(failed) == 1 and (failed[0] / "drops.jsonl").read_text().count("malformed record") == 5
    m = json.loads((failed[0] / "manifest.json").read_text())
    assert m["counts"]["rows"] == 0 and m["guard"]["failures"]
    assert not (out / ".build.lock").exists() or (out / ".build.lock").read_text() == ""


def test_the_cli_says_why_in_one_line(tmp_path: Path) -> None:
    cfg = _broken_jsonl(tmp_path)
    r = subprocess.run([sys.executable, "-m", "mt_aug.cli", "build", str(cfg), "--executor", "local"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("mt-aug: error: ") and "source 'mine'" in last and "Traceback" not in r.stderr


def test_published_files_name_no_machine(demo_build: dict) -> None:
    """Manifest and card are published: paths relative to the config, no host name."""
    build_dir = demo_build["second"]
    host = socket.gethostname()
    for name in ("manifest.json", "README.md", "croissant.json"):
        text = (build_dir / name).read_text(encoding="utf-8")
        assert str(ROOT) not in text and str(demo_build["tmp"]) not in text, name
        assert host not in text, name
    m = json.loads((build_dir / "manifest.json").read_text())
    assert m["sources"]["demo-squad"]["files"]["path"]["path"] == "../examples/data/demo_squad.json"
    assert m["config"]["sources"][0]["path"] == "../examples/data/demo_squad.json"


def test_accounting_is_merged_from_the_stages(demo_build: dict) -> None:
    m = json.loads((demo_build["second"] / "manifest.json").read_text())
    s = m["sources"]["demo-squad"]
    assert (s["read"], s["kept"], s["dropped"]) == (64, 53, {"contaminated:demo-eval": 11})
    assert m["counts"]["kept_pairs"] == 53 and m["counts"]["input_pairs"] == 64
    assert set(m["stages"]) == {"eval-index", "collect", "decontaminate", "dedup", "segment"}
    assert all(v["reused"] for v in m["stages"].values())  # the second build reused every stage result
