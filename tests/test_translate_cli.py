"""`mt-aug translate` on awkward input: aligned output, counted filtering, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mt_aug.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


AWKWARD = [
    "The children were playing happily in the garden.",
    "",
    "!!! ??? ...",
    "😀😀 🎉",
    "The river\x07 flows into the sea.\x1b It is long.",
    "The word Москва was painted on the side of the train.",
    " ".join(["the old man walked along the quiet road and"] * 1100),  # ~10,000 words, no full stop
    "The children were playing happily in the garden.",
]


def test_awkward_lines_stay_aligned(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("\n".join(AWKWARD) + "\n", encoding="utf-8")
    r = run("translate", str(src), str(dst), "--cache-dir", str(tmp_path / "cache"))
    assert r.returncode == 0, r.stderr
    out = dst.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(out) == len(AWKWARD)
    assert "jardim" in out[0] and out[0] == out[7]
    assert out[1] == "" and out[2] == "!!! ??? ..." and out[3] == "😀😀 🎉"
    assert "rio" in out[4] and "\x07" not in out[4]
    assert len(out[6].split()) > 5000  # the long line came back whole, not truncated
    # Bergamot drops "Москва" (a name on its own, no gloss): the gate's non-Latin span check filters that line
    assert out[5] == ""
    assert "8 lines: 4 translated, 0 from the cache, 3 copied (empty or no letters), 1 filtered (entity lost: 1)" in r.stdout
    assert "line 6: filtered: entity lost" in r.stderr
    again = run("translate", str(src), str(dst), "--cache-dir", str(tmp_path / "cache"))
    assert "0 translated, 4 from the cache" in again.stdout


def test_unknown_language_and_missing_input(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("Hello.\n")
    r = run("translate", str(tmp_path / "in.txt"), str(tmp_path / "o.txt"), "--target", "xx")
    assert r.returncode == 2 and "--target: unknown language code 'xx'" in r.stderr
    r = run("translate", str(tmp_path / "nope.txt"), str(tmp_path / "o.txt"))
    assert r.returncode == 2 and "nope.txt: cannot read" in r.stderr
    r = run("translate", str(tmp_path / "in.txt"), str(tmp_path / "o.txt"), "--target", "de")
    assert r.returncode == 2 and "bergamot: no bundled model for en->de" in r.stderr
    assert not (tmp_path / "o.txt").exists()


def test_not_a_model_folder_fails_before_work(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("Hello.\n")
    r = run("translate", str(tmp_path / "in.txt"), str(tmp_path / "o.txt"), "--backend", "ctranslate2",
            "--model", str(tmp_path))
    assert r.returncode == 2 and "not a CTranslate2 model folder" in r.stderr


def test_cache_stats_and_prune(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("The cat sleeps.\nThe dog runs.\n")
    cache = str(tmp_path / "cache")
    run("translate", str(tmp_path / "in.txt"), str(tmp_path / "o.txt"), "--cache-dir", cache)
    r = run("cache", "stats", "--cache-dir", cache)
    assert r.returncode == 0 and "en->pt\t2 entries" in r.stdout
    r = run("cache", "prune", "--cache-dir", cache, "--keep-model", "some/other-model")
    assert r.returncode == 2 and "no entry of this model" in r.stderr  # a typo does not delete everything
    r = run("cache", "prune", "--cache-dir", cache, "--keep-model", "some/other-model", "--force")
    assert r.returncode == 0 and "deleted 2 entries" in r.stdout
