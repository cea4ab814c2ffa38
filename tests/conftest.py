"""Test environment: offline, Prefect and Hugging Face state in temporary folders, one
Prefect test harness per session (started only by tests that run flows)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="mt-aug-tests-"))
for key, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HOME": str(_TMP / "hf"),
    "PREFECT_HOME": str(_TMP / "prefect"),
    "PREFECT_LOCAL_STORAGE_PATH": str(_TMP / "prefect" / "storage"),
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[key] = value

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_CONFIG = ROOT / "configs" / "demo.yaml"


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_harness():  # type: ignore[no-untyped-def]
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "xquad" / "xquad.en.json").is_file():
        pytest.skip(f"real XQuAD/SQuAD data not found under {SHARED_DATA} (see shared/data/README.md)")
    return SHARED_DATA


def write_config(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


DEMO_DATA = ROOT / "examples" / "data"


def demo_config_text(output_dir: Path, cache_dir: Path, **extra: str) -> str:
    """The demo config with its paths made absolute and output/cache redirected."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = text.replace("../examples/data/", f"{DEMO_DATA}/")
    text = text.replace("output_dir: ../out/demo", f"output_dir: {output_dir}")
    text = text.replace("cache_dir: ../.cache/mt-aug", f"cache_dir: {cache_dir}")
    for k, v in extra.items():
        text += f"\n{k}: {v}\n"
    return text


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> dict:  # type: ignore[no-untyped-def]
    """The real demo config built twice without Prefect (the second run from the caches), shared
    by every test that only reads a build. Tests that change a build copy it first."""
    import json

    from filelock import FileLock

    from mt_aug.pipeline import build

    # one build for the whole run: pytest-xdist workers share the folder above their own
    root = tmp_path_factory.getbasetemp()
    shared = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    tmp = shared / "demo-shared"
    with FileLock(str(shared / "demo-shared.lock")):
        done = tmp / "built.json"
        if not done.is_file():
            first = build(DEMO_CONFIG, output_dir=tmp / "out", cache_dir=tmp / "cache")
            second = build(DEMO_CONFIG, output_dir=tmp / "out", cache_dir=tmp / "cache")
            done.write_text(json.dumps({"first": str(first), "second": str(second)}))
        got = json.loads(done.read_text())
    return {"tmp": tmp, "out": tmp / "out", "cache": tmp / "cache", "first": Path(got["first"]),
            "second": Path(got["second"]), "config": DEMO_CONFIG}


@pytest.fixture
def one_thread():  # type: ignore[no-untyped-def]
    """One torch thread: on a small shared machine two spinning threads per process cost more than they give."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


DEV = "\ndev_split: {passages: 3}\n"


@pytest.fixture(scope="session")
def dev_build(demo_build: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo config with a dev split of 3 passages, built from a copy of the demo's caches.
    Shared by tests/test_dev_split.py and tests/test_ratio_sweep.py: a module that uses it is
    marked `pytest.mark.xdist_group("dev-split")`, so one worker builds it once."""
    from mt_aug.pipeline import build

    tmp = tmp_path_factory.mktemp("dev-build")
    shutil.copytree(demo_build["cache"], tmp / "cache")
    cfg = write_config(tmp, demo_config_text(tmp / "out", tmp / "cache") + DEV)
    return Path(build(cfg)).resolve()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`), every test that needs the
    Prefect test server runs on one worker, so the server starts once. (Measured: without
    tryfirst, or with pytest 9.2, whose node ids xdist 3.8 can no longer suffix, pytest-xdist
    issue 1386, the two workers each started a server: ~20 s more.)"""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("prefect"))
