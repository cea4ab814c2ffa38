"""verify checks every figure of the manifest, the accounting identities, drops.jsonl and the
card (issue 14, item 2), on a tiny build made by the library's own stages."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mt_aug.core.files import sha256_file
from mt_aug.release.verify import VerifyError, verify_build
from tests.fixtures.tiny_build import make_build


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_build(tmp_path_factory.mktemp("tiny"))


@pytest.fixture()
def build(tiny: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(tiny, dst)
    return dst


def _edit(build: Path, fn: Callable[[dict[str, Any]], None]) -> None:
    m = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    fn(m)
    (build / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True), encoding="utf-8")


def test_the_tiny_build_verifies_and_a_card_rerender_still_does(build: Path) -> None:
    from mt_aug.release.card import rerender

    assert verify_build(build) == {"files": 4, "rows": 48, "batches": 12}
    rerender(build)
    assert verify_build(build)["rows"] == 48


def _inc(*keys: str, by: int = 1) -> Callable[[dict[str, Any]], None]:
    def fn(m: dict[str, Any]) -> None:
        d = m
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] += by
    return fn


@pytest.mark.parametrize(("edit", "message"), [
    (_inc("counts", "batches"), r"manifest.json: counts.batches is 13, the files say 12"),
    (_inc("counts", "kept_pairs"), r"counts.kept_pairs \(sum of sources' kept\) is 30, the files say 29"),
    (_inc("counts", "input_pairs"), r"counts.input_pairs is 31"),
    (_inc("counts", "leftover_rows"), r"counts.leftover_rows is 10"),
    (_inc("counts", "views_dropped"), r"counts.views_dropped is 2, the files say 1"),
    (_inc("sources", "tiny", "read"), r"sources.tiny: read 31 != kept 29 \+ dropped 1"),
    (_inc("sources", "tiny", "kept", by=-1), r"sources.tiny: read 30 != kept 28 \+ dropped 1"),
    (_inc("sources", "tiny", "dropped", "empty question"), r"sources.tiny: read 30 != kept 29 \+ dropped 2"),
    (_inc("translation", "pt", "views_dropped", "quality:empty output"),
     r"translation.pt: views 28 \+ views_dropped 2 != 29 kept pairs"),
    (_inc("translation", "pt", "views"), r"translation.pt: views 29 \+ views_dropped 1 != 29"),
    (_inc("batches", "mono", "pt"), r"batches.mono.pt is \d+, the files say \d+"),
    (lambda m: (_inc("leftovers", "cross", "en-pt")(m), _inc("counts", "leftover_rows")(m)), r"cross en-pt: \d+ batches x 4 \+ \d+ leftover rows != \d+ views"),
    (_inc("views", "mono", "en"), r"views.mono: \d+ views \+ 0 short != 29 kept pairs"),
    (_inc("drops", "pairs", "collect/empty question"), r"drops.pairs is .* vs drops.jsonl|drops.pairs is"),
    (_inc("schedule", "steps"), r"schedule.steps is 13, the files say 12"),
    (_inc("seed"), r"manifest.json: seed is 4, its config says 3"),
    (_inc("translation", "pt", "cached"), r"translation.pt: cached \d+ \+ translated \d+ != unique \d+ segments"),
    (lambda m: m["guard"]["warnings"].append("all fine, really"), r"guard.warnings is \['all fine, really'\], the files say \[\]"),
    (lambda m: m["guard"]["failures"].append("x"), r"the guard refuses this build \(x\)"),
    (lambda m: m["config"].update(name="x"), r"config_hash .* is not the hash of its config"),
    (lambda m: m["examples"][0].update(query="edited"), r"examples\[0\].query differs from the first row"),
    (lambda m: m["sources"]["tiny"].update(license="mit"), r"README.md: differs from its rendering"),
])
def test_verify_catches_every_edited_figure(build: Path, edit: Callable[[dict[str, Any]], None], message: str) -> None:
    _edit(build, edit)
    with pytest.raises(VerifyError, match=message):
        verify_build(build)


def test_an_edited_or_deleted_drops_file_fails(build: Path) -> None:
    drops = build / "drops.jsonl"
    lines = drops.read_text(encoding="utf-8").splitlines()
    drops.write_text("\n".join(lines[:1]) + "\n", encoding="utf-8")  # the quality drop removed
    # the manifest lists drops.jsonl's sha256 (format 2): an edit fails there first
    with pytest.raises(VerifyError, match=r"drops.jsonl: sha256 \w+\.\.\. != manifest.json|"
                                          r"translation.pt.views_dropped is \{'quality:empty output': 1\}"):
        verify_build(build)
    drops.write_text(lines[0].replace("empty question", "empty passage") + "\n" + lines[1] + "\n", encoding="utf-8")
    with pytest.raises(VerifyError, match=r"drops.jsonl: sha256|sources.tiny.dropped"):
        verify_build(build)
    drops.unlink()
    with pytest.raises(VerifyError, match=r"drops.jsonl: (listed in manifest.json but )?missing"):
        verify_build(build)


def test_an_edited_or_deleted_card_fails(build: Path) -> None:
    card = build / "README.md"
    text = card.read_text(encoding="utf-8")
    assert "license: cc0-1.0" in text
    card.write_text(text.replace("license: cc0-1.0", "license: mit"), encoding="utf-8")
    with pytest.raises(VerifyError, match=r"README.md: differs from its rendering from manifest.json at line \d+"):
        verify_build(build)
    card.unlink()
    with pytest.raises(VerifyError, match=r"README.md: missing"):
        verify_build(build)


def test_an_unlisted_file_fails(build: Path) -> None:
    (build / "mono" / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(VerifyError, match=r"mono/notes.txt: file not listed in manifest.json"):
        verify_build(build)


def test_format_2_needs_checksums_and_they_are_checked(build: Path) -> None:
    _edit(build, lambda m: m.update(format_version=2) or m.pop("checksums"))
    with pytest.raises(VerifyError, match=r"format_version 2 lists no checksums of drops.jsonl"):
        verify_build(build)
    digest = sha256_file(build / "drops.jsonl")
    _edit(build, lambda m: m.update(checksums={"drops.jsonl": digest, "README.md": "0" * 64}))
    from mt_aug.release.card import write_card

    write_card(build, json.loads((build / "manifest.json").read_text(encoding="utf-8")))
    assert verify_build(build)["rows"] == 48  # README.md: checked by rendering, not by its digest
    with open(build / "drops.jsonl", "a", encoding="utf-8") as f:
        f.write("\n")
    with pytest.raises(VerifyError, match=r"drops.jsonl: sha256 .* != manifest.json"):
        verify_build(build)


def test_a_guard_warning_is_in_the_card_and_must_match_the_figures(build: Path) -> None:
    from mt_aug.release.card import rerender

    warning = "language 'pt': the quality gate dropped 20 of 29 views (69%), more than 0.5; top drop reasons: x: 20"
    _edit(build, lambda m: m.update(guard={"warnings": [warning], "failures": []}))
    rerender(build)
    assert f"> **Warning:** {warning}" in (build / "README.md").read_text(encoding="utf-8")
    with pytest.raises(VerifyError, match=r"guard.warnings is \[.*\], the files say \[\]"):
        verify_build(build)  # a warning the figures do not bear out
    _edit(build, lambda m: m.update(guard={"warnings": [], "failures": []}))  # what the figures bear out
    rerender(build)
    assert verify_build(build)["rows"] == 48


def test_a_refused_build_does_not_verify_with_its_failures_blanked(build: Path) -> None:
    """The guard's verdict is recomputed from the figures and the config's thresholds: a build
    the guard refused stays refused when someone empties `guard.failures`."""
    from mt_aug.release.card import write_card

    def refuse(m: dict) -> None:  # type: ignore[type-arg]
        m["config"]["guards"]["max_quality_drop_fraction"] = 0.01
        m["guard"]["failures"] = []

    _edit(build, refuse)
    write_card(build, json.loads((build / "manifest.json").read_text(encoding="utf-8")))
    with pytest.raises(VerifyError, match=r"the guard refuses this build \(language 'pt': the quality gate dropped"):
        verify_build(build)
