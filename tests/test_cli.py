"""The command line as a user runs it: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, demo_config_text, write_config

MT_AUG = [sys.executable, "-m", "mt_aug.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MT_AUG, *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("command", ["validate", "build", "verify"])
def test_help(command: str) -> None:
    r = run(command, "--help")
    assert r.returncode == 0 and "Usage" in r.stdout


def test_validate_ok() -> None:
    r = run("validate", "configs/demo.yaml")
    assert r.returncode == 0 and "configs/demo.yaml: ok" in r.stdout


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("batch_size: 4", "batch_size: 1"), "batching.batch_size: must be >= 2"),
        (lambda t: t + "\nsurprise: 1\n", "surprise: unknown key"),
        (lambda t: t.replace("[en, pt]", "[en, pt, qq]"), "languages[2]: unknown language code 'qq'"),
        (lambda t: t.replace("demo_squad.json", "missing.json"), "sources[0].path: no such file"),
        (lambda t: t.replace("name: demo", "name: [demo"), "invalid YAML"),
        (lambda t: t.replace("backend: bergamot", "backend: ctranslate2\n  model: /nonexistent"),
         "translator.model: ctranslate2 needs a converted model folder"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    cfg = write_config(tmp_path, edit(demo_config_text(out, tmp_path / "cache")))
    for command in ("validate", "build"):
        r = run(command, str(cfg))
        assert r.returncode == 2, r.stderr
        err = [line for line in r.stderr.splitlines() if line.startswith("mt-aug: error:")]
        assert len(err) == 1 and str(cfg) in err[0] and expected in err[0], r.stderr
        assert not out.exists()


def test_verify_missing_build_exits_nonzero(tmp_path: Path) -> None:
    r = run("verify", str(tmp_path))
    assert r.returncode == 1 and "manifest.json: missing" in r.stderr
