"""Operations: one build at a time, crash-safe reruns, scheduled deployments."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, demo_config_text, write_config
from mt_aug.release.lock import BuildLock, BuildLocked


def test_second_build_of_same_output_dir_is_refused(tmp_path: Path) -> None:
    with BuildLock(tmp_path, "first-build"):
        with pytest.raises(BuildLocked, match=r"build first-build is running \(pid \d+ on .*one build at a time"):
            BuildLock(tmp_path, "second").acquire()
    # released: a new build may start
    with BuildLock(tmp_path, "third") as lock:
        assert lock.stale is None


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from mt_aug.release.lock import BuildLock\n"
        "l = BuildLock(%r, 'holder').acquire(); print('held', flush=True); time.sleep(60)") % (str(ROOT), str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(BuildLocked, match=f"build holder is running \\(pid {holder.pid} "):
            BuildLock(tmp_path, "me").acquire()
        holder.send_signal(signal.SIGKILL)  # a killed holder releases the lock at once
        holder.wait()
        with BuildLock(tmp_path, "me") as lock:
            assert lock.stale is not None and lock.stale["build_id"] == "holder"
    finally:
        holder.kill()


def test_stale_lock_record_is_recovered(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".build.lock").write_text(json.dumps({"build_id": "crashed", "pid": int(dead.stdout),
                                                      "host": os.uname().nodename, "started_at": "x"}))
    with BuildLock(tmp_path, "new") as lock:
        assert lock.stale is not None and lock.stale["build_id"] == "crashed"
        assert json.loads((tmp_path / ".build.lock").read_text())["build_id"] == "new"


def test_prefect_yaml_is_a_valid_deployment() -> None:
    from prefect.client.schemas.schedules import CronSchedule

    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    dep = doc["deployments"][0]
    path, func = dep["entrypoint"].split(":")
    assert (ROOT / path).is_file() and func == "build_corpus"
    CronSchedule(cron=dep["schedules"][0]["cron"])
    assert (ROOT / dep["parameters"]["config_path"]).is_file()


def test_serve_registers_a_cron_deployment(prefect_harness) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client

    from flows.deploy import deployment_for

    dep = deployment_for(ROOT / "configs" / "demo.yaml", "0 3 * * *", name="nightly-test")
    dep_id = dep.apply()

    import asyncio

    async def read():  # type: ignore[no-untyped-def]
        async with get_client() as client:
            return await client.read_deployment(dep_id)

    got = asyncio.run(read())
    assert got.name == "nightly-test"
    assert got.schedules[0].schedule.cron == "0 3 * * *"
    assert got.parameters == {} and "demo.yaml" in (got.description or "")  # the config is fixed, not a parameter
    assert got.parameter_openapi_schema["additionalProperties"] is False and got.enforce_parameter_schema


def _partial_cache(src: Path, dst: Path, keep: int) -> None:
    """A copy of a translation cache with only its first `keep` rows: a build from it has the
    rest to translate (real model work, less of it)."""
    import shutil as sh

    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a:
        a.execute("PRAGMA wal_checkpoint(FULL)")
    sh.copy(src, dst)
    with sqlite3.connect(dst) as db:
        db.execute("DELETE FROM translations WHERE rowid NOT IN (SELECT rowid FROM translations ORDER BY rowid "
                   "LIMIT ?)", (keep,))
    assert _cache_entries(dst) == keep


def _cache_entries(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.Error:
        return 0


def _build_cmd(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "mt_aug.cli", "build", str(cfg)]


def _shards(build: Path) -> list[tuple[str, str]]:
    m = json.loads((build / "manifest.json").read_text())
    return [(f["path"], f["sha256"]) for f in m["files"]] + [("schedule", m["schedule"]["sha256"])]


def test_kill_during_translation_then_rerun_is_byte_identical(tmp_path: Path, demo_build: dict) -> None:
    """`mt-aug build --executor local` (the same pipeline without Prefect's start-up) killed
    with SIGKILL while translating, then run again."""
    env = dict(os.environ)
    slow = demo_config_text(tmp_path / "out", tmp_path / "cache").replace("batch_size: 32", "batch_size: 2\n  unit_size: 4")
    slow = slow.replace("  threads: 2", "  threads: 1")
    cfg = write_config(tmp_path, slow)
    cache = tmp_path / "cache" / "translations.sqlite"
    _partial_cache(demo_build["cache"] / "translations.sqlite", cache, keep=79)  # 60 left to translate
    proc = subprocess.Popen(_build_cmd(cfg) + ["--executor", "local"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 240
    while _cache_entries(cache) < 79 + 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _cache_entries(cache)
    assert 79 + 10 <= done_before < 139
    assert not (tmp_path / "out" / "current").exists()  # never points at an incomplete build
    # rerun: completes, translates only what was missing
    r = subprocess.run(_build_cmd(cfg) + ["--executor", "local"], env=env, capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    build = Path(r.stdout.strip().splitlines()[-1])
    m = json.loads((build / "manifest.json").read_text())
    assert m["translation"]["pt"]["cached"] == done_before
    assert m["translation"]["pt"]["translated"] == m["translation"]["pt"]["unique"] - done_before
    assert not list((tmp_path / "out" / "builds").glob(".staging-*"))
    assert not list((tmp_path / "out").rglob("*.tmp"))
    # the same bytes as a clean build with a fresh cache (the shared demo build: batch and unit
    # sizes and threads change how it translates, not what)
    assert _shards(build) == _shards(demo_build["first"])


def test_dask_runner_gives_the_local_runner_output(prefect_harness, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  demo_build: dict) -> None:
    """`mt-aug build --task-runner dask` (a LocalCluster of 2 workers), run as a user runs it,
    in its own process, against the test server."""
    from prefect.settings import PREFECT_API_URL

    text = demo_config_text(tmp_path / "out", tmp_path / "cache").replace("batch_size: 32", "batch_size: 8\n  unit_size: 16")
    dask_cfg = write_config(tmp_path, text.replace(str(tmp_path / "out"), str(tmp_path / "dask-out"))
                            .replace(str(tmp_path / "cache"), str(tmp_path / "dask-cache")), "dask.yaml")
    local = demo_build["first"]  # the library build of the same config, from a fresh cache
    _partial_cache(demo_build["cache"] / "translations.sqlite", tmp_path / "dask-cache" / "translations.sqlite",
                   keep=119)  # 20 segments left: 3 units of 8 on the 2 Dask workers
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    r = subprocess.run(_build_cmd(dask_cfg) + ["--task-runner", "dask", "--workers", "2"], env=env,
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    dask = Path(r.stdout.strip().splitlines()[-1])
    assert _shards(local) == _shards(dask)
    m = json.loads((dask / "manifest.json").read_text())
    assert m["translation"]["pt"]["translated"] == 20 and m["translation"]["pt"]["unique"] == 139


def _edit_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Change the file's bytes as `cp -p` / `touch -r` leave it: same size, same mtime."""
    assert len(old.encode()) == len(new.encode())
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_stage_results_are_reused_until_an_input_changes(tmp_path: Path, demo_build: dict) -> None:
    """Cached stage results are keyed on the stage's version, config section, the content of
    its input files and its libraries: a rebuild reuses them, also after a touch; an edit that
    keeps size and mtime (as `cp -p`, `rsync -a`, `touch -r` leave it) of a source or an eval
    file recomputes the stages that read it, and the manifest names the bytes the build used."""
    import hashlib
    import shutil as sh

    import datasets

    from mt_aug.pipeline import build
    from mt_aug.pipeline.builder import result_store
    from mt_aug.pipeline.executor import LocalExecutor
    from mt_aug.config import load_config

    src, ev = tmp_path / "demo_squad.json", tmp_path / "demo_eval_en.json"
    sh.copy(ROOT / "examples/data/demo_squad.json", src)
    sh.copy(ROOT / "examples/data/demo_eval_en.json", ev)
    text = demo_config_text(tmp_path / "out", tmp_path / "cache").replace(
        str(ROOT / "examples/data/demo_squad.json"), str(src)).replace(
        str(ROOT / "examples/data/demo_eval_en.json"), str(ev))
    cfg = write_config(tmp_path, text)
    sh.copytree(demo_build["cache"], tmp_path / "cache")  # translations cached; stage results keyed on other files
    first = build(cfg)
    os.utime(src, ns=(time.time_ns(), time.time_ns()))  # touched, not changed: the same content key
    ex = LocalExecutor(result_store(load_config(cfg)))
    second = build(cfg, executor=ex)
    assert ex.reused == ["eval-index", "collect", "decontaminate", "dedup", "dev-split", "segment"]
    assert _shards(first) == _shards(second)
    m = json.loads((second / "manifest.json").read_text())
    assert m["stages"]["collect"]["reused"] and m["translation"]["pt"]["translated"] == 0
    # a reused result brings its warnings along (the eval index's coverage warning)
    m1 = json.loads((first / "manifest.json").read_text())
    assert m["decontamination"]["warnings"] == m1["decontamination"]["warnings"] != []
    _edit_keeping_size_and_mtime(src, "How long is the Tallow River", "How wide is the Tallow River")
    _edit_keeping_size_and_mtime(ev, '"version": "1.1"', '"version": "1.2"')
    ex = LocalExecutor(result_store(load_config(cfg)))
    third = build(cfg, executor=ex)
    assert ex.reused == []  # the eval index, collect and every stage after it ran again
    m3 = json.loads((third / "manifest.json").read_text())
    assert m3["sources"]["demo-squad"]["files"]["path"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert m3["decontamination"]["eval_sets"]["demo-eval"]["files"]["en"][0]["sha256"] == \
        hashlib.sha256(ev.read_bytes()).hexdigest()
    queries = {q for f in m3["files"] for q in datasets.Dataset.from_file(str(third / f["path"]))["query"]}
    assert "How long is the Tallow River from source to mouth?" not in queries  # the old text is gone
    assert m3["translation"]["pt"]["translated"] == 1  # the edited question, read and translated
    assert list((tmp_path / "cache" / "results").glob("collect-*.zip"))
    assert not list((tmp_path / "cache" / "results").glob("*.pkl"))


def test_stage_keys_follow_version_config_and_libraries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_aug.config import load_config
    from mt_aug.core import versions
    from mt_aug.pipeline.stages import CollectStage, SegmentStage

    cfg = load_config(write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache")))
    seg = SegmentStage()
    k = seg.key(cfg, {"pairs": "p1"})
    assert seg.key(cfg, {"pairs": "p1"}) == k and seg.key(cfg, {"pairs": "p2"}) != k  # inputs' fingerprints
    bumped = type("Bumped", (SegmentStage,), {"version": "999"})()
    assert bumped.key(cfg, {"pairs": "p1"}) != k  # the declared version
    versions.library_version.cache_clear()
    monkeypatch.setattr(versions.metadata, "version", lambda dist: "0.0-other" if dist == "blingfire" else "x")
    assert seg.key(cfg, {"pairs": "p1"}) != k  # a library it lists
    monkeypatch.undo()  # the real versions again, and none of the fake ones left in the cache for later
    versions.library_version.cache_clear()  # tests of this worker (their keys must match other builds')
    c = CollectStage()
    other = cfg.model_copy(update={"seed": cfg.seed + 1})
    assert c.key(other, {}) == c.key(cfg, {})  # the seed is not collect's business
    sources = [s.model_copy(update={"max_passage_words": 10}) for s in cfg.sources]
    assert c.key(cfg.model_copy(update={"sources": sources}), {}) != c.key(cfg, {})


def test_prune_keeps_the_newest_builds_and_never_current(tmp_path: Path) -> None:
    from mt_aug.release.publish import builds_dir, prune, switch_current

    for name in ["20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c", "20260104T000000Z-d",
                 ".staging-20260105T000000Z-e"]:
        (builds_dir(tmp_path) / name).mkdir(parents=True)
    switch_current(tmp_path, "20260101T000000Z-a")  # current may be an old build (e.g. a rollback)
    removed = prune(tmp_path, keep=2)
    assert removed == ["20260102T000000Z-b"]
    left = sorted(d.name for d in builds_dir(tmp_path).iterdir())
    assert left == [".staging-20260105T000000Z-e", "20260101T000000Z-a", "20260103T000000Z-c", "20260104T000000Z-d"]
