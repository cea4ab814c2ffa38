"""Demo builds for the trainer-side tests (test_training, test_export): the shared
`demo_build` fixture where conftest has it, else a build of the demo config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, demo_config_text, write_config


def build_demo(tmp: Path, out: Path, cache: Path, seed: int = 13) -> Path:
    """The demo config (with another seed) built into `out`; the build directory."""
    text = demo_config_text(out, cache).replace("seed: 13", f"seed: {seed}")
    cfg = write_config(tmp, text, f"demo-seed{seed}.yaml")
    try:
        from mt_aug.pipeline.builder import build
    except ImportError:  # before the Prefect-free pipeline: the command line
        subprocess.run([str(ROOT / ".venv/bin/mt-aug"), "-q", "build", str(cfg), "--output", str(out),
                        "--cache-dir", str(cache)], check=True, capture_output=True)
        return (out / "current").resolve()
    return Path(build(cfg, output_dir=out, cache_dir=cache)).resolve()


@pytest.fixture(scope="session")
def demo_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A demo build (the shared one where conftest has it) and a translation cache that holds
    the demo's translations."""
    try:
        shared = request.getfixturevalue("demo_build")
        return {"build": Path(shared["second"]).resolve(), "cache": Path(shared["cache"])}
    except pytest.FixtureLookupError:
        tmp = tmp_path_factory.mktemp("train-demo")
        return {"build": build_demo(tmp, tmp / "out", tmp / "cache"), "cache": tmp / "cache"}


@pytest.fixture(scope="session")
def demo(demo_env: dict[str, Path]) -> Path:
    return demo_env["build"]




@pytest.fixture()
def b(demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo build, to break."""
    import shutil

    dst = tmp_path / "b"
    shutil.copytree(demo, dst)
    return dst


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path."""
    import hashlib

    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_arrow(path: Path):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_stream(src).read_all()


def rewrite(build: Path, rel: str, table, *, manifest: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Write `table` as the build's file `rel` (a shard or the schedule) and, with `manifest`,
    record it in manifest.json as a build would (sha256, bytes; rows or steps): a build edited
    consistently, whose other checks must catch what is wrong."""
    import json

    from mt_aug.packing.shards import write_stream

    digest = write_stream(build / rel, table)
    if not manifest:
        return
    m = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    size = (build / rel).stat().st_size
    if m.get("schedule") and m["schedule"]["path"] == rel:
        m["schedule"].update(sha256=digest, bytes=size, steps=table.num_rows)
    for f in m["files"]:
        if f["path"] == rel:
            f.update(sha256=digest, bytes=size, rows=table.num_rows)
    (build / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def short_build(src: Path, dst: Path, steps: int) -> Path:
    """A build of the first `steps` scheduled batches of `src`: shards holding those batches
    only, the schedule cut to them, the manifest's files, schedule and counts to match (a few
    steps per epoch keep a training test fast)."""
    import json

    import pyarrow as pa

    m = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    bs = m["batch_size"]
    sched = read_arrow(src / "schedule.arrow").slice(0, steps).to_pydict()
    keep: dict[str, list[int]] = {}
    for f, i in zip(sched["file"], sched["batch_index"], strict=True):
        keep.setdefault(f, []).append(i)
    new_index: dict[tuple[str, int], int] = {}
    files = []
    for f in m["files"]:
        if f["path"] not in keep:
            continue
        idx = sorted(keep[f["path"]])
        table = read_arrow(src / f["path"])
        part = pa.concat_tables([table.slice(i * bs, bs) for i in idx])
        new_index.update({(f["path"], i): j for j, i in enumerate(idx)})
        (dst / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        ids = part.column("batch_id").to_pylist()
        files.append({**f, "rows": part.num_rows, "batches": len(idx), "first_batch": ids[0], "last_batch": ids[-1]})
        from mt_aug.packing.shards import write_stream

        write_stream(dst / f["path"], part)
    sched["batch_index"] = [new_index[(f, i)] for f, i in zip(sched["file"], sched["batch_index"], strict=True)]
    from mt_aug.schema import SCHEDULE_SCHEMA

    m.update(files=files, schedule={"path": "schedule.arrow", "sha256": "", "steps": steps})
    m["counts"].update(rows=sum(f["rows"] for f in files), batches=steps)
    (dst / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    for f in files:
        rewrite(dst, f["path"], read_arrow(dst / f["path"]))
    rewrite(dst, "schedule.arrow", pa.table(sched, schema=SCHEDULE_SCHEMA))
    return dst
