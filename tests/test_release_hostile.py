"""`export`, `card`, `card --diff` and `verify` on hostile or broken builds (issue 20, items 4
and 9 and its "Tracebacks and messages"): one line each (exit 2; `verify`: exit 1, a check
that failed), and nothing written outside the output or into the build."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from mt_aug import cli
from mt_aug.release.card import CardError, check_against_disk, load_manifest, write_card
from mt_aug.release.export import ExportError, export_parquet
from mt_aug.release.verify import VerifyError, verify_build
from mt_aug.schema import SCHEDULE_SCHEMA
from training_builds import b, demo, demo_env, read_arrow, rewrite, tree  # noqa: F401  (fixtures)


def mt_aug(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli.app, [str(a) for a in args])


def one_line(result, code: int = 2) -> str:  # type: ignore[no-untyped-def]
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert result.exit_code == code and len(lines) == 1, (result.exit_code, result.stderr, result.exception)
    assert lines[0].startswith("mt-aug: error: ") and "Traceback" not in result.stderr + result.stdout
    return lines[0].removeprefix("mt-aug: error: ")


def _edit(build: Path, **fields: object) -> None:
    m = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    m.update(fields)
    (build / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


# -- export (item 4) -------------------------------------------------------------------------------

def test_export_refuses_a_tampered_schedule(b: Path, tmp_path: Path) -> None:
    d = read_arrow(b / "schedule.arrow").to_pydict()
    d["kind"] = ["cross" if k == "mono" else "mono" for k in d["kind"]]
    rewrite(b, "schedule.arrow", pa.table(d, schema=SCHEDULE_SCHEMA), manifest=False)
    msg = one_line(mt_aug("export", b, "--output", tmp_path / "pq"))
    assert msg == f"{b}: schedule.arrow: sha256 differs from manifest.json (edited since the build was published: " \
                  "not exported)"
    assert not (tmp_path / "pq").exists()


def test_export_refuses_a_non_empty_output_or_one_in_the_build(b: Path, tmp_path: Path) -> None:
    before = tree(b)
    out = tmp_path / "pq"
    out.mkdir()
    (out / "mono").mkdir()
    (out / "mono/part-00007.parquet").write_bytes(b"stale")
    assert one_line(mt_aug("export", b, "--output", out)).startswith(f"{out}: not empty (export to a new or empty")
    assert (out / "mono/part-00007.parquet").read_bytes() == b"stale"
    for inside in (b, b / "exports", b / "mono"):
        msg = one_line(mt_aug("export", b, "--output", inside))
        assert msg.startswith(f"{inside}: inside the build {b}") or msg.startswith(f"{inside}: not empty")
    assert one_line(mt_aug("export", b, "--output", tmp_path)).startswith(f"{tmp_path}: holds the build")
    assert tree(b) == before and not (b / "exports").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert mt_aug("export", b, "--output", empty).exit_code == 0  # an empty folder is fine
    assert (empty / "croissant.json").is_file()


def test_export_of_a_missing_folder(tmp_path: Path) -> None:
    msg = one_line(mt_aug("export", tmp_path / "nope", "--output", tmp_path / "x"))
    assert msg == f"{tmp_path / 'nope'}: no such build folder (no manifest.json)"
    with pytest.raises(ExportError, match=r"nope: no such build folder$"):
        export_parquet(tmp_path / "nope", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_removes_what_it_wrote_when_it_fails(b: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mt_aug.release import export as export_mod

    real, calls = export_mod._write_parquet, []

    def fail_second(table, path, rows):  # type: ignore[no-untyped-def]
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        return real(table, path, rows)

    monkeypatch.setattr(export_mod, "_write_parquet", fail_second)
    with pytest.raises(OSError):
        export_parquet(b, tmp_path / "pq")
    assert not (tmp_path / "pq").exists()


# -- paths out of the build (item 9) -----------------------------------------------------------------

def test_a_manifest_path_out_of_the_build(b: Path, tmp_path: Path) -> None:
    escape = tmp_path / "escape"
    escape.mkdir()
    shutil.copy(b / "mono/en/part-00000.arrow", escape / "x.arrow")
    m = json.loads((b / "manifest.json").read_text())
    m["files"][0]["path"] = "../escape/x.arrow"
    m["files"][0]["sha256"] = hashlib.sha256((escape / "x.arrow").read_bytes()).hexdigest()
    m["files"][0]["bytes"] = (escape / "x.arrow").stat().st_size
    (b / "manifest.json").write_text(json.dumps(m))
    before, outside = tree(b), tree(tmp_path)
    why = "'../escape/x.arrow': a path outside the build folder (absolute or with '..')"
    out = tmp_path / "out" / "pq"
    assert one_line(mt_aug("export", b, "--output", out)) == f"{b}/manifest.json: files[0].path: {why}"
    assert one_line(mt_aug("verify", b), code=1) == f"{b}: manifest.json: files[0].path: {why}"
    assert one_line(mt_aug("card", b)) == f"{b}: manifest.json: files[0].path: {why}"
    assert tree(b) == before and tree(tmp_path) == outside and not (tmp_path / "out").exists()
    assert not (tmp_path / "escape" / "x.parquet").exists()


def test_a_symbolic_link_out_of_the_build(b: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.arrow"
    shutil.move(b / "mono/pt/part-00000.arrow", outside)
    (b / "mono/pt/part-00000.arrow").symlink_to(outside)
    why = f"mono/pt/part-00000.arrow: a symbolic link out of the build folder (to {outside})"
    assert one_line(mt_aug("export", b, "--output", tmp_path / "pq")) == f"{b}/manifest.json: files[3].path: {why}"
    assert one_line(mt_aug("verify", b), code=1) == f"{b}: manifest.json: files[3].path: {why}"
    assert one_line(mt_aug("card", b)) == f"{b}: manifest.json: files[3].path: {why}"
    (b / "mono/pt/part-00000.arrow").unlink()
    shutil.move(outside, b / "mono/pt/part-00000.arrow")
    (b / "stray").symlink_to(tmp_path)  # a link verify would otherwise only call unlisted
    assert one_line(mt_aug("verify", b), code=1) == f"{b}: a file in the build: stray: a symbolic link out of the " \
                                                    f"build folder (to {tmp_path})"


def test_card_replaces_a_linked_card_rather_than_writing_through_it(b: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("someone else's file\n", encoding="utf-8")
    card = (b / "README.md").read_text(encoding="utf-8")
    (b / "README.md").unlink()
    (b / "README.md").symlink_to(victim)
    write_card(b, load_manifest(b))
    assert victim.read_text(encoding="utf-8") == "someone else's file\n"
    assert not (b / "README.md").is_symlink() and (b / "README.md").read_text(encoding="utf-8") == card
    assert verify_build(b)["rows"] == sum(f["rows"] for f in json.loads((b / "manifest.json").read_text())["files"])


# -- malformed manifests and truncated shards ("Tracebacks and messages") --------------------------------

MALFORMED = {
    "not UTF-8": (b'{"name": "caf\xe9"}', "manifest.json: not UTF-8 (byte offset 13)"),
    "a string": (b'"a build"', "manifest.json: not a JSON object (a str at the top level)"),
    "a list": (b"[]", "manifest.json: not a JSON object (a list at the top level)"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED) + ["decontamination as a list"])
def test_card_diff_export_and_verify_on_a_malformed_manifest(b: Path, demo: Path, tmp_path: Path, case: str) -> None:
    if case in MALFORMED:
        content, why = MALFORMED[case]
        (b / "manifest.json").write_bytes(content)
    else:
        _edit(b, decontamination=[])
        why = "manifest.json: decontamination: should be an object"
    assert one_line(mt_aug("card", b)) == f"{b}/{why}"
    assert one_line(mt_aug("card", "--diff", demo, b)) == f"{b}/{why}"
    assert one_line(mt_aug("export", b, "--output", tmp_path / "pq")) == f"{b}/{why}"
    assert one_line(mt_aug("verify", b), code=1) == f"{b}: {why}"
    with pytest.raises(CardError, match=f"^{b}/{why}$".replace("(", r"\(").replace(")", r"\)")):
        load_manifest(b)
    assert not (tmp_path / "pq").exists()


def test_card_and_diff_on_nested_fields_of_the_wrong_type(b: Path, demo: Path) -> None:
    _edit(b, sources={"demo-squad": {"read": 64}})  # its kept and dropped gone
    assert mt_aug("card", "--diff", demo, b).exit_code == 0  # what changed, not a card: nothing to render
    msg = one_line(mt_aug("card", b))
    assert msg == f"{b}: manifest.json: cannot render the card: missing field 'kept'"
    _edit(b, translation={"pt": []})
    assert one_line(mt_aug("card", "--diff", demo, b)) == f"{b}/manifest.json: translation.pt: should be an object"
    from mt_aug.release.card import diff

    with pytest.raises(CardError, match=r"^manifest\.json: cannot compare the builds: missing field 'decontamination'$"):
        diff(load_manifest(demo), {"build_id": "x"})


def test_a_truncated_shard_is_named(b: Path, tmp_path: Path) -> None:
    p = b / "cross/en-pt/part-00000.arrow"
    p.write_bytes(p.read_bytes()[:5000])
    why = "cross/en-pt/part-00000.arrow: 5000 bytes, manifest.json says"
    assert one_line(mt_aug("card", b)).startswith(f"{b}: {why}")
    assert one_line(mt_aug("export", b, "--output", tmp_path / "pq")).startswith(f"{b}: {why}")
    assert one_line(mt_aug("verify", b), code=1).startswith(f"{b}: {why}")
    m = json.loads((b / "manifest.json").read_text())
    for f in m["files"]:  # an older manifest (no sizes) with the truncated file's checksum
        f.pop("bytes")
    m["files"][0]["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CardError, match=r"^cross/en-pt/part-00000\.arrow: not a readable Arrow IPC stream"):
        check_against_disk(b, load_manifest(b))
    with pytest.raises(VerifyError, match=r"^cross/en-pt/part-00000\.arrow: not a readable Arrow IPC stream"):
        verify_build(b)
