"""Errors, not tracebacks (issue 14): every path, disk, cache and lock problem a user can cause
is one line `mt-aug: error: <path>: <what> (<errno text>)`, exit 2, found before slow start-up.
Tests run as root, so unwritable places are simulated (os.access, a writer that raises)."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import demo_config_text, write_config
from mt_aug import cli
from mt_aug.errors import UserError, check_writable_dir, os_error_message, user_error_message
from mt_aug.release.lock import LOCK_NAME, BuildLock
from mt_aug.release.publish import staged
from mt_aug.translation.base import Translation

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli.app, list(args))


def one_error(result) -> str:  # type: ignore[no-untyped-def]
    lines = [line for line in result.stderr.splitlines() if line.startswith("mt-aug: error:")]
    assert result.exit_code == 2 and len(lines) == 1, (result.exit_code, result.stderr, result.exception)
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def _deny(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """os.access says no for `denied` (and below), as it would for a user without the permission."""
    real = os.access

    def access(path, mode, *a, **kw):  # type: ignore[no-untyped-def]
        p = Path(path).resolve()
        if p == denied.resolve() or denied.resolve() in p.parents:
            return False
        return real(path, mode, *a, **kw)

    monkeypatch.setattr(os, "access", access)


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, demo_config_text(tmp_path / "out", tmp_path / "cache"))


def test_output_dir_that_is_a_file_fails_validate_and_build_before_prefect(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out").write_text("I am a file", encoding="utf-8")
    msg = one_error(invoke("validate", str(config)))
    assert msg == f"mt-aug: error: {config}: {tmp_path / 'out'}: output_dir is not a directory (Not a directory)"
    monkeypatch.setattr(cli, "_prefect_env", lambda: pytest.fail("Prefect must not start"))
    msg = one_error(invoke("build", str(config)))
    assert msg == f"mt-aug: error: {tmp_path / 'out'}: output_dir is not a directory (Not a directory)"
    assert (tmp_path / "out").read_text(encoding="utf-8") == "I am a file"


@pytest.mark.parametrize("key", ["out", "cache"])
def test_unwritable_output_or_cache_dir(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        key: str) -> None:
    (tmp_path / key).mkdir()
    _deny(monkeypatch, tmp_path / key)
    name = {"out": "output_dir", "cache": "cache_dir"}[key]
    msg = one_error(invoke("validate", str(config)))
    assert msg.endswith(f"{tmp_path / key}: {name} is not writable (Permission denied)")
    monkeypatch.setattr(cli, "_prefect_env", lambda: pytest.fail("Prefect must not start"))
    assert one_error(invoke("build", str(config))).endswith(f"{name} is not writable (Permission denied)")


def test_a_dir_that_cannot_be_created_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, tmp_path / "ro")
    (tmp_path / "ro").mkdir()
    with pytest.raises(UserError, match=rf"{tmp_path}/ro/a/b: output_dir cannot be created in {tmp_path}/ro "
                                        r"\(Permission denied\)"):
        check_writable_dir(tmp_path / "ro" / "a" / "b", "output_dir")
    check_writable_dir(tmp_path / "new" / "deeper", "output_dir")  # creatable: fine, and nothing created
    assert not (tmp_path / "new").exists()


def test_a_second_build_is_refused_before_prefect_starts(config: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_prefect_env", lambda: pytest.fail("Prefect must not start"))
    with BuildLock(tmp_path / "out", "running-build"):
        msg = one_error(invoke("build", str(config)))
    assert "build running-build is running (pid" in msg and "one build at a time" in msg
    assert not (tmp_path / "out" / LOCK_NAME).exists()  # released and removed


def test_lock_and_staging_are_cleaned_after_a_full_disk(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OSError) as err:
        with BuildLock(out, "b1"), staged(out, "b1") as d:
            (d / "mono").mkdir()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(d / "mono" / "part-00000.arrow"))
    assert not (out / LOCK_NAME).exists() and list((out / "builds").iterdir()) == []
    assert user_error_message(err.value) == (f"{out}/builds/.staging-b1/mono/part-00000.arrow: cannot write: the disk "
                                             "is full (No space left on device)")


def test_user_error_messages_and_bugs() -> None:
    assert os_error_message(PermissionError(errno.EACCES, "Permission denied", "/x"), "cannot write the cache") == \
        "/x: cannot write the cache (Permission denied)"
    assert user_error_message(sqlite3.DatabaseError("file is not a database")) is not None
    assert user_error_message(KeyError("bug")) is None  # a bug keeps its traceback
    slow = RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server. stdout: ...")
    assert (user_error_message(slow) or "").startswith("Prefect: the temporary API server did not start in time")


class Upper:
    name = "upper"
    model_id = "upper"

    def __init__(self, *a: object) -> None:
        pass

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        return [Translation("O rio é longo.") for s in segments]

    def close(self) -> None:
        pass


def test_translate_to_an_unwritable_place_or_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_aug.translation import engine

    monkeypatch.setattr(engine, "make_backend", lambda *a: Upper())
    src = tmp_path / "in.txt"
    src.write_text("The river is long.\n", encoding="utf-8")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    ok = invoke("translate", str(src), str(tmp_path / "ok.txt"), *cache)
    assert ok.exit_code == 0, ok.stderr
    assert (tmp_path / "ok.txt").read_text(encoding="utf-8") == "O rio é longo.\n"
    (tmp_path / "locked").mkdir()
    _deny(monkeypatch, tmp_path / "locked")
    msg = one_error(invoke("translate", str(src), str(tmp_path / "locked" / "o.txt"), *cache))
    assert msg.endswith(f"{tmp_path / 'locked'}: the output's folder is not writable (Permission denied)")
    real = Path.write_text

    def full(self: Path, *a: object, **kw: object) -> int:
        if self.name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full)
    msg = one_error(invoke("translate", str(src), str(tmp_path / "full.txt"), *cache))
    assert msg == f"mt-aug: error: {tmp_path / 'full.txt'}: cannot write the translation (No space left on device)"
    assert not (tmp_path / "full.txt").exists() and not list(tmp_path.glob(".full.txt*"))


def _cache_with(tmp_path: Path, models: dict[str, int]) -> Path:
    from mt_aug.translation.cache import CacheScope, TranslationCache

    d = tmp_path / "cache"
    with TranslationCache(d / "translations.sqlite") as c:
        for model, n in models.items():
            c.put_many(CacheScope.of("bergamot", model, "en", "pt", {}), [(f"s{i}", Translation(f"t{i}")) for i in range(n)])
    return d


def test_cache_commands_name_their_cache_and_prune_says_what_it_deletes(tmp_path: Path) -> None:
    d = _cache_with(tmp_path, {"m-old": 3, "m-new": 2})
    cfg = write_config(tmp_path, demo_config_text(tmp_path / "out", d))
    r = invoke("cache", "stats", "--config", str(cfg))
    assert r.exit_code == 0 and f"cache: {d / 'translations.sqlite'}" in r.stderr and "5 entries" in r.stdout
    msg = one_error(invoke("cache", "prune", "--config", str(cfg), "--keep-model", "foo"))
    assert "--keep-model 'foo': no entry of this model" in msg and "m-new, m-old" in msg
    r = invoke("cache", "prune", "--cache-dir", str(d), "--keep-model", "m-new", "--dry-run")
    assert r.exit_code == 0 and "would delete: bergamot\tm-old\ten->pt\t3 entries" in r.stdout
    assert "would delete 3 entries (dry run: nothing deleted)" in r.stdout
    r = invoke("cache", "prune", "--config", str(cfg), "--keep-model", "m-new")
    assert r.exit_code == 0 and "deleting: bergamot\tm-old" in r.stdout and "deleted 3 entries" in r.stdout
    assert "2 entries" in invoke("cache", "stats", "--cache-dir", str(d)).stdout


def test_a_cache_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "translations.sqlite").write_bytes(b"not a database " * 200)
    msg = one_error(invoke("cache", "stats", "--cache-dir", str(tmp_path)))
    assert msg.startswith(f"mt-aug: error: {tmp_path / 'translations.sqlite'}: not a translation cache (file is not "
                          "a database)")


@pytest.mark.parametrize(("cron", "why"), [
    ("not a cron", "expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
    ("61 * * * *", "minute field '61': minute 61 is out of range 0-59"),
    ("0 3 * foo *", "month field 'foo': month 'foo' is not a number or a name"),
    ("*/0 * * * *", "a step of 0"),
])
def test_serve_with_a_bad_cron_is_one_line(config: Path, cron: str, why: str) -> None:
    msg = one_error(invoke("serve", str(config), "--cron", cron))
    assert msg.startswith(f"mt-aug: error: --cron {cron!r}: not a cron expression: ") and why in msg


def test_serve_bad_timezone_and_convert_of_a_missing_folder(config: Path, tmp_path: Path) -> None:
    assert "unknown time zone 'Mars/Olympus'" in one_error(
        invoke("serve", str(config), "--cron", "0 3 * * *", "--timezone", "Mars/Olympus"))
    msg = one_error(invoke("convert", str(tmp_path / "nope"), str(tmp_path / "ct2")))
    assert msg.startswith(f"mt-aug: error: {tmp_path / 'nope'}: no such folder")
    (tmp_path / "empty").mkdir()
    assert "no config.json" in one_error(invoke("convert", str(tmp_path / "empty"), str(tmp_path / "ct2")))


def test_global_options(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"))  # restored after
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout.startswith("mt-aug ")
    assert "--log-level: must be one of" in one_error(invoke("--log-level", "loud", "validate", str(config)))
    assert invoke("--quiet", "validate", str(config)).exit_code == 0
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "WARNING"  # what Prefect reads when a build starts


def test_log_lines_name_the_prefect_task() -> None:
    import logging

    from mt_aug.progress import CliFormatter

    rec = logging.LogRecord("prefect.task_runs", logging.INFO, "x", 1, "Finished in state %s", ("Completed()",), None)
    rec.task_run_name = "translate-pt-0"
    assert CliFormatter().format(rec) == "INFO task translate-pt-0: Finished in state Completed()"
    rec = logging.LogRecord("mt_aug.readers", logging.WARNING, "x", 1, "plain", (), None)
    assert CliFormatter().format(rec) == "WARNING mt_aug.readers: plain"


def test_verify_of_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    # a check that failed: exit 1, one line
    r = invoke("verify", str(tmp_path))
    assert r.exit_code == 1 and r.stderr.strip() == f"mt-aug: error: {tmp_path}: manifest.json: missing"


def test_a_full_disk_while_writing_shards_leaves_current_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from mt_aug.packing import shards
    from mt_aug.release.verify import verify_build
    from tests.fixtures.tiny_build import make_build

    root = tmp_path / "t"
    make_build(root)  # published; its translations are in root/cache, so the CLI build loads no model
    out = root / "out"
    before = (out / "current").resolve()
    cfg = write_config(tmp_path, yaml.safe_dump({
        "name": "tiny", "output_dir": str(out), "cache_dir": str(root / "cache"), "seed": 3, "languages": ["en", "pt"],
        "sources": [{"name": "tiny", "format": "squad", "path": str(root / "tiny.json"), "license": "cc0-1.0"}],
        "batching": {"batch_size": 4},
        "quality": {k: {"enabled": False} for k in ("langid", "numbers", "entities", "untranslated", "garbled")}}))
    real, calls = shards.write_stream, []

    def full_disk(path: Path, table, rows_per_batch=None):  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) == 2:
            tmp = path.with_name(path.name + ".tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
        return real(path, table, rows_per_batch)

    monkeypatch.setattr(shards, "write_stream", full_disk)
    msg = one_error(invoke("build", str(cfg), "--executor", "local"))
    assert msg.startswith(f"mt-aug: error: {out}/builds/.staging-") and \
        msg.endswith(".arrow.tmp: cannot write: the disk is full (No space left on device)")
    assert not (out / LOCK_NAME).exists()
    assert [p.name for p in (out / "builds").iterdir() if p.name.startswith(".")] == []
    assert (out / "current").resolve() == before and verify_build(out / "current")["rows"] == 48


def test_a_build_folder_that_is_missing_or_a_file(tmp_path: Path) -> None:
    """Each command that reads a build: a path that is no folder at all is one line, exit 2."""
    nope, afile = tmp_path / "nope", tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    for args in (("card", nope), ("verify", nope), ("inspect", nope, "--lang", "pt"), ("card", "--diff", nope, nope)):
        assert one_error(invoke(*map(str, args))) == f"mt-aug: error: {nope}: no such build folder (no manifest.json)"
    assert one_error(invoke("verify", str(afile))) == f"mt-aug: error: {afile}: not a build folder (not a directory)"


def test_card_of_a_folder_without_a_manifest_is_a_user_error(tmp_path: Path) -> None:
    assert one_error(invoke("card", str(tmp_path))) == f"mt-aug: error: {tmp_path}/manifest.json: missing"


@pytest.mark.parametrize(("args", "expected"), [
    (("verify", "--bogus", "x"), "--bogus: no such option (see 'mt-aug verify --help')"),
    (("inspect", "x", "--lang", "pt", "--n", "0"), "--n: input should be greater than or equal to 1 (see 'mt-aug inspect --help')"),
    (("inspect", "x"), "--lang: missing (see 'mt-aug inspect --help')"),
    (("verify",), "BUILD_DIR: missing (see 'mt-aug verify --help')"),
    (("card", "--stable"), "--stable: requires an argument"),
    (("frobnicate",), "mt-aug: no such command 'frobnicate' (see 'mt-aug --help')"),
    (("--log-level",), "--log-level: requires an argument"),
])
def test_a_usage_error_is_one_line(args: tuple[str, ...], expected: str) -> None:
    r = invoke(*args)
    assert one_error(r).startswith(f"mt-aug: error: {expected}")
    assert "╭" not in r.stderr + r.stdout and "Usage:" not in r.stderr  # not typer's boxed usage message


def test_help_still_works() -> None:
    for args in (("--help",), ("verify", "--help")):
        r = invoke(*args)
        assert r.exit_code == 0 and "Usage" in r.stdout and not r.stderr, args
    r = invoke()  # a bare command: its help, as before
    assert r.exit_code == 2 and "Usage" in r.stdout and "mt-aug: error" not in r.stderr


def test_an_unwritable_report_is_refused_before_any_work(config: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    class NoWork(types.ModuleType):
        def __getattr__(self, name: str) -> None:
            if name.startswith("__"):
                raise AttributeError(name)
            pytest.fail(f"{self.__name__}.{name}: nothing may run before the report path is checked")

    for name in ("mt_aug.pipeline.plan", "mt_aug.evaluation.encode", "mt_aug.evaluation.evaluator"):
        monkeypatch.setitem(sys.modules, name, NoWork(name))
    (tmp_path / "locked").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    _deny(monkeypatch, tmp_path / "locked")
    cases = [(tmp_path / "locked" / "r.json", f"{tmp_path / 'locked'}: the report's folder is not writable "
                                               "(Permission denied)"),
             (tmp_path / "locked" / "new" / "r.json", f"{tmp_path / 'locked' / 'new'}: the report's folder cannot be "
                                                       f"created in {tmp_path / 'locked'} (Permission denied)"),
             (tmp_path / "afile" / "r.json", f"{tmp_path / 'afile'}: the report's folder is not a directory"),
             (tmp_path, f"{tmp_path}: the report is a directory (give a file name)")]
    for i, (report, what) in enumerate(cases):
        msg = one_error(invoke("evaluate", "--model", "m", "--paths", "x/{lang}.json", "--report", str(report)))
        assert msg.startswith(f"mt-aug: error: {what}"), msg
        if i == 0:  # plan: the same check (its default report is <output_dir>/plan.json)
            msg = one_error(invoke("plan", str(config), "--report", str(report)))
            assert msg.startswith(f"mt-aug: error: {what}"), msg
    msg = one_error(invoke("evaluate", "--model", "m", "--paths", "x/{lang}.json", "--report", str(tmp_path / "r.json"),
                           "--cache-dir", str(tmp_path / "locked" / "emb")))  # the embedding cache: the same
    assert msg == (f"mt-aug: error: {tmp_path / 'locked' / 'emb'}: --cache-dir cannot be created in {tmp_path / 'locked'} "
                   "(Permission denied)")
    assert not (tmp_path / "out").exists()


def test_export_and_card_stable_check_where_they_write_first(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    msg = one_error(invoke("export", str(tmp_path / "nope"), "--output", str(tmp_path / "afile")))
    assert msg == f"mt-aug: error: {tmp_path / 'afile'}: --output is not a directory (Not a directory)"
    (tmp_path / "b").mkdir()  # no build is read: the check comes first
    msg = one_error(invoke("card", str(tmp_path / "b"), "--stable", str(tmp_path / "afile" / "card.md")))
    assert msg == f"mt-aug: error: {tmp_path / 'afile'}: --stable's folder is not a directory (Not a directory)"
    msg = one_error(invoke("card", str(tmp_path / "b"), "--stable", str(tmp_path)))
    assert msg == f"mt-aug: error: {tmp_path}: --stable is a directory (give a file name)"
