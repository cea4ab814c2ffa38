"""The pipeline as library code: the guard before publishing, published files without machine
details, the per-source accounting merged from the stages."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
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
    """Manifest and card are published: no host name, and a file outside the config's folder
    (the demo's data is in ../examples/data) by its file name only (its sha256 beside it)."""
    build_dir = demo_build["second"]
    host = socket.gethostname()
    for name in ("manifest.json", "README.md", "croissant.json"):
        text = (build_dir / name).read_text(encoding="utf-8")
        assert str(ROOT) not in text and str(demo_build["tmp"]) not in text, name
        assert host not in text, name
    m = json.loads((build_dir / "manifest.json").read_text())
    assert m["sources"]["demo-squad"]["files"]["path"]["path"] == "demo_squad.json"
    assert m["config"]["sources"][0]["path"] == "demo_squad.json"
    assert ".." not in json.dumps(m["config"]) and ".." not in json.dumps(m["sources"])


def test_accounting_is_merged_from_the_stages(demo_build: dict) -> None:
    m = json.loads((demo_build["second"] / "manifest.json").read_text())
    s = m["sources"]["demo-squad"]
    assert (s["read"], s["kept"], s["dropped"]) == (64, 53, {"contaminated:demo-eval": 11})
    assert m["counts"]["kept_pairs"] == 53 and m["counts"]["input_pairs"] == 64
    assert sorted(m["stages"], key=lambda name: m["stages"][name]["order"]) == list(STAGES)
    # the second build reused every cached stage result; the stages after them run every build
    assert {name for name, v in m["stages"].items() if v["reused"]} == set(STAGES[:6])
    assert all(v["key"].startswith(f"{name}-") and v["seconds"] >= 0 for name, v in m["stages"].items())


STAGES = ("eval-index", "collect", "decontaminate", "dedup", "dev-split", "segment", "translate", "quality-pt",
          "dev", "pack", "write")


def test_the_build_runs_every_stage_through_the_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`build()` is its stages, in order, each through `executor.run_stage` (what the Prefect
    executor makes a task of), translation units through `map_units` from inside `translate`;
    the manifest lists every stage in the order it ran."""
    from mt_aug.core.executor import Resources
    from mt_aug.pipeline.executor import LocalExecutor
    from tests.fixtures import tiny_build

    events: list[str] = []

    class Recording(LocalExecutor):
        def run_stage(self, stage, ctx, cfg, inputs, key):  # type: ignore[no-untyped-def]
            assert key.startswith(f"{stage.name}-") and set(inputs) == set(stage.inputs)
            assert ctx.executor is self  # every stage reaches this executor through its context only
            events.append(f"start {stage.name}")
            try:
                return super().run_stage(stage, ctx, cfg, inputs, key)
            finally:
                events.append(f"end {stage.name}")

        def map_units(self, fn, units, *, name, resources=Resources()):  # type: ignore[no-untyped-def]
            events.append(f"units {name}")
            return super().map_units(fn, units, name=name, resources=resources)

    def recorded(cfg):  # type: ignore[no-untyped-def]
        events.clear()  # make_build runs the source side once before it builds
        return build(cfg, executor=Recording())

    monkeypatch.setattr(tiny_build, "build", recorded)
    got = tiny_build.make_build(tmp_path)
    assert [e[6:] for e in events if e.startswith("start ")] == list(STAGES)
    assert [e[4:] for e in events if e.startswith("end ")] == list(STAGES)  # one at a time
    i = events.index("start translate")
    assert events[i + 1:i + 3] == ["units translate", "end translate"]
    m = json.loads((got / "manifest.json").read_text())
    assert sorted(m["stages"], key=lambda name: m["stages"][name]["order"]) == list(STAGES)
    assert m["stages"]["write"]["seconds"] > 0 and not any(v["reused"] for v in m["stages"].values())


# sha256 of the demo's shards as main built them before the pipeline moved into the library
# (commit 5d8a8d1, through the Prefect flow), with that day's quality gate: the columnar
# pipeline must give the same bytes.
BEFORE_ISSUE_12 = {
    "cross/en-pt/part-00000.arrow": "d49f308a5462d1bf2bea0aaf8f9b40e3856328a689949d6c3d823bc4f310d83e",
    "cross/pt-en/part-00000.arrow": "ebd9270d46325f0c5fa00007fed174f2889d1bbb8d7fa31bf5ad524eaba10375",
    "mono/en/part-00000.arrow": "e4163b767e6896ea538e24f00439f1aff63248edb1729720a16703738a1a3e5c",
    "mono/pt/part-00000.arrow": "3c2d90ee970f400a771d25878ad0e9e39ef00df9354f5a0aed3e7121c43a8eb8",
    "schedule.arrow": "205e85ae1cddb13820317f356157b6ce454e8375d6a3de600c2428be3def129a",
}


def test_demo_shards_are_byte_identical_to_the_flow_before_the_refactor(demo_build: dict, tmp_path: Path) -> None:
    import shutil

    text = (ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8")
    text += "\n# the quality gate of that day: the signals added since off\n"
    off = ("entities", "numbers", "length_loss", "untranslated", "garbled", "coverage", "added_content", "sense")
    text += "quality: {" + ", ".join(f"{k}: {{enabled: false}}" for k in off) + "}\n"
    cfg = ROOT / "configs" / f".test-before-12-{tmp_path.name}.yaml"  # beside demo.yaml: same relative paths
    cfg.write_text(text, encoding="utf-8")
    try:
        shutil.copytree(demo_build["cache"], tmp_path / "cache")
        got = build(cfg, output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    finally:
        cfg.unlink()
    batch_size = json.loads((got / "manifest.json").read_text(encoding="utf-8"))["batch_size"]
    assert {name: _as_before_format_3(got / name, batch_size) for name in BEFORE_ISSUE_12} == BEFORE_ISSUE_12
    assert all(_record_batches(got / name) == 1 for name in BEFORE_ISSUE_12)  # format 3: one per file


def _record_batches(path: Path) -> int:
    with pa.memory_map(str(path)) as src:
        return sum(1 for _ in pa.ipc.open_stream(src))


def _as_before_format_3(path: Path, batch_size: int) -> str:
    """sha256 of a shard re-framed as the builds before manifest format 3 wrote it (one Arrow
    record batch per training batch; the schedule, one record batch, is unchanged): the rows,
    columns and bytes of every buffer must be those of the flow before issue 12."""
    import hashlib

    with pa.memory_map(str(path)) as src:
        table = pa.ipc.open_stream(src).read_all()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=None if path.name == "schedule.arrow" else batch_size)
    return hashlib.sha256(memoryview(sink.getvalue())).hexdigest()


def test_export_switch_writes_parquet_beside_the_build(demo_build: dict, tmp_path: Path) -> None:
    import shutil

    from conftest import demo_config_text
    from mt_aug.release.verify import verify_build

    shutil.copytree(demo_build["cache"], tmp_path / "cache")
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache") + "\nexport: {parquet: true}\n")
    got = build(cfg)
    exported = tmp_path / "out" / "exports" / got.name
    assert (exported / "croissant.json").is_file() and list(exported.rglob("*.parquet"))
    verify_build(got)  # the build itself is unchanged by its export


def test_control_characters_are_counted_in_the_manifest(demo_build: dict, tmp_path: Path) -> None:
    """What readers normalized away (control characters, terminal escapes) reaches the
    manifest's per-source counts, beside read/kept/dropped."""
    import shutil

    rows = [{"q": f"Where is the bridge number {i}?\x00", "ctx": f"The bridge number {i} is \x1b[31mred\x1b[0m."}
            for i in range(6)] + [{"q": "\x00\x00\x00", "ctx": "Nothing."}]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    shutil.copytree(demo_build["cache"], tmp_path / "cache")
    cfg = write_config(tmp_path, f"""
name: ctrl
output_dir: {tmp_path / 'out'}
cache_dir: {tmp_path / 'cache'}
languages: [en, pt]
batching: {{batch_size: 2}}
guards: {{max_quality_drop_fraction: 1.0}}
sources:
  - {{name: ctrl, format: jsonl, path: {tmp_path / 'qa.jsonl'}, fields: {{question: q, passage: ctx}}, license: cc0-1.0}}
""")
    m = json.loads((build(cfg) / "manifest.json").read_text())
    s = m["sources"]["ctrl"]
    assert s["normalized"] == {"control characters": 7} and s["dropped"] == {"empty question": 1}


def test_plan_says_a_build_will_fail(tmp_path: Path) -> None:
    from mt_aug.config import load_config
    from mt_aug.pipeline.plan import plan

    report = plan(load_config(_broken_jsonl(tmp_path)))
    assert any(w.startswith("a build will fail: source 'mine': 5 of 5 records") for w in report["warnings"])


def test_an_unusable_verdict_cache_fails_before_any_work(tmp_path: Path) -> None:
    from mt_aug.translation.cache import CacheError

    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "verdicts.sqlite").write_text("garbage\n")
    with pytest.raises(CacheError, match=r"cache/verdicts.sqlite: not a verdict cache \(file is not a database\)"):
        build(ROOT / "configs" / "demo.yaml", output_dir=tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "translations.sqlite").exists() or \
        __import__("sqlite3").connect(tmp_path / "cache" / "translations.sqlite").execute(
            "SELECT COUNT(*) FROM translations").fetchone()[0] == 0  # nothing was translated first


def test_decontamination_reports_its_progress(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Decontamination is a progress task of its own (a bar on a terminal, plain lines in a log)."""
    import logging

    from mt_aug import progress
    from mt_aug.config import load_config
    from mt_aug.pipeline.builder import run_source_side
    from mt_aug.pipeline.executor import LocalExecutor

    progress.configure(tty=False, every_s=0.0)
    try:
        with caplog.at_level(logging.INFO, logger="mt_aug.progress"):
            run_source_side(load_config(ROOT / "configs" / "demo.yaml", cache_dir=tmp_path / "c"), LocalExecutor())
    finally:
        progress.configure()
    lines = [r.getMessage() for r in caplog.records if r.name == "mt_aug.progress"]
    assert any(m.startswith("decontaminate (en eval texts): ") and " texts" in m for m in lines), lines
