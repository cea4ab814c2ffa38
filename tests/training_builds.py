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


