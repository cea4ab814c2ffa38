"""The gate as a list of signals (issue 23): one class per signal with its own `quality:` section,
reasons and needs, in one ordered list; the verdicts' key derived from it; the flat keys of gate
6 still read for one release, each with a deprecation that names its new key."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import demo_config_text, write_config
from mt_aug import cli
from mt_aug.config import DEPRECATED_QUALITY_KEYS, ConfigError, QualityConfig, load_config
from mt_aug.config import load as config_load
from mt_aug.quality import REASONS, SIGNALS, Gate
from mt_aug.quality.signal import NEEDS, Target

GATE6_REASONS = ("empty output", "hit length limit", "degenerate repetition", "length ratio", "untranslated",
                 "wrong language", "number changed", "number lost", "entity lost", "name changed", "added content",
                 "content lost", "word lost", "garbled", "round-trip", "quality estimate")


def test_the_signals_are_one_list_with_a_section_each() -> None:
    """Every signal has its section under `quality:` (the empty-output check, always on, none),
    every section a signal, in the gate's order; the reasons are the list's, gate 6's order."""
    # gate 6's reasons, in its order, and gate 7's two new ones
    assert [r for r in REASONS if r in GATE6_REASONS] == list(GATE6_REASONS)
    assert set(REASONS) - set(GATE6_REASONS) == {"wrong sense", "round-trip cosine"}
    names = [s.name for s in SIGNALS]
    assert len(set(names)) == len(names)
    # the round-trip's cosine runs on the round-trip's back-translations, under its section
    assert [n for n in names if n not in ("empty", "roundtrip_cosine")] == list(QualityConfig.model_fields)
    assert [s.name for s in SIGNALS if s.structural] == names[:4]  # the cheap ones first
    target = Target("en", "pt", ("en", "pt"))
    for cls in SIGNALS:
        sig = cls(cls.section(QualityConfig()), target)
        assert sig.needs <= set(NEEDS) and sig.reasons and sig.version >= 1
    gate = Gate(QualityConfig(), "en", "pt", ("en", "pt"))
    assert gate.needs == {"lexicon", "names"}  # by default: no round-trip, no QE
    assert "back" in Gate(QualityConfig().updated(roundtrip={"enabled": True}), "en", "pt", ("en", "pt")).needs


def _key(tgt: str = "pt", **sections: dict[str, object]) -> str:
    return Gate(QualityConfig().updated(**sections), "en", tgt, ("en", tgt)).settings_hash


def test_the_verdicts_key_changes_with_what_decides_them_only() -> None:
    """The key is (name, version, settings) of each signal: a setting that can change a verdict
    changes it, and switching a signal off does too (it drops less). What decides nothing does
    not: the settings of a signal that is off, another language's per-language setting."""
    base = _key()
    assert _key(coverage={"max_zipf": 4.5}) != base
    assert _key(entities={"lowercase_min_zipf": 3.5}) != base
    assert _key(garbled={"enabled": False}) != base
    assert _key(roundtrip={"enabled": True}) != base
    # a switched-off signal's settings decide nothing
    assert _key(garbled={"enabled": False, "max_similarity": 0.9}) == _key(garbled={"enabled": False})
    assert _key(roundtrip={"min_chrf": 40.0}) == base  # the round-trip is off by default
    assert _key(roundtrip={"enabled": True, "min_chrf": 40.0}) != _key(roundtrip={"enabled": True})
    # per-language settings: only the gate's own target language's count
    assert _key(length_ratio={"bands": {"zh": (0.2, 1.0)}}) == base
    assert _key(length_ratio={"bands": {"pt": (0.2, 1.0)}}) != base
    assert _key(length_loss={"ratios": {"de": 0.5}}) == base
    assert _key(roundtrip={"enabled": True, "min_chrf_by_lang": {"de": 30.0}}) == _key(roundtrip={"enabled": True})
    # the round-trip's cosine: a signal of its own under the round-trip's section
    cos = {"enabled": True, "cosine": {"min": 0.7}}
    assert _key(roundtrip=cos) != _key(roundtrip={"enabled": True})
    assert _key(roundtrip={**cos, "cosine": {"min": 0.6}}) != _key(roundtrip=cos)
    assert _key(roundtrip={"cosine": {"min": 0.6}}) == base  # the round-trip off: its cosine decides nothing
    # a setting that resolves to the same value for this target: the same key
    assert _key(length_ratio={"bands": {"pt": (0.3, 3.0)}}) == base


def test_the_flat_keys_of_gate_6_are_read_with_a_deprecation_naming_the_new_key(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flat = {"numbers": False, "coverage_max_zipf": 4.5, "entities_translate": False, "roundtrip_min_chrf": 30.0,
            "roundtrip_models": {"pt": {"beam_size": 2}}, "length_ratio_bands": {"pt": [0.2, 2.0]}}
    new = {"numbers": {"enabled": False}, "coverage": {"max_zipf": 4.5}, "entities": {"translate": False},
           "roundtrip": {"min_chrf": 30.0, "models": {"pt": {"beam_size": 2}}},
           "length_ratio": {"bands": {"pt": [0.2, 2.0]}}}
    text = demo_config_text(tmp_path / "o", tmp_path / "c")
    old_cfg = write_config(tmp_path, text + "\nquality: " + yaml.safe_dump(flat, default_flow_style=True), "old.yaml")
    new_cfg = write_config(tmp_path, text + "\nquality: " + yaml.safe_dump(new, default_flow_style=True), "new.yaml")
    with caplog.at_level(logging.WARNING, logger="mt_aug.config"):
        got = load_config(old_cfg)
    assert got.quality == load_config(new_cfg).quality and got.content_hash() == load_config(new_cfg).content_hash()
    notes = [r.getMessage() for r in caplog.records if r.name == "mt_aug.config"]
    assert f"{old_cfg}: quality.coverage_max_zipf is deprecated: use quality.coverage.max_zipf" in notes
    assert f"{old_cfg}: quality.numbers: false is deprecated: use quality.numbers.enabled" in notes
    assert f"{old_cfg}: quality.roundtrip_models is deprecated: use quality.roundtrip.models" in notes
    assert len(notes) == len(flat)
    # every old key has a new home
    for old, (section, key) in DEPRECATED_QUALITY_KEYS.items():
        assert key in QualityConfig.model_fields[section].annotation.model_fields, old  # type: ignore[union-attr]
    # Python code gets DeprecationWarnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert QualityConfig(coverage_max_zipf=4.5) == QualityConfig().updated(coverage={"max_zipf": 4.5})
    assert [str(w.message) for w in caught] == ["quality.coverage_max_zipf is deprecated: use quality.coverage.max_zipf"]
    assert all(w.category is DeprecationWarning for w in caught)
    # the same value in both spellings is no conflict
    same = text + "\nquality: {coverage_max_zipf: 4.5, coverage: {max_zipf: 4.5}}\n"
    assert load_config(write_config(tmp_path, same, "same.yaml")).quality.coverage.max_zipf == 4.5


def test_both_spellings_with_different_values_are_one_error(tmp_path: Path) -> None:
    text = demo_config_text(tmp_path / "o", tmp_path / "c") + "\nquality: {coverage_max_zipf: 3.5, coverage: {max_zipf: 4.5}}\n"
    bad = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    assert str(exc.value) == (f"{bad}: quality.coverage_max_zipf: deprecated spelling of quality.coverage.max_zipf, "
                              "which is also given, with another value (3.5 and 4.5): keep quality.coverage.max_zipf only")
    r = CliRunner().invoke(cli.app, ["validate", str(bad)])
    assert r.exit_code == 2 and r.stderr.strip() == f"mt-aug: error: {exc.value}"


def test_validate_and_build_show_the_deprecations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build of a config in the old spelling is the build of the same config in the new one
    (the same config hash), with a warning per old key on stderr."""
    import json

    from tests.fixtures.tiny_build import make_build

    root = tmp_path / "t"
    make_build(root)  # its translations are in root/cache: the CLI build loads no model
    cfg = {"name": "tiny", "output_dir": str(root / "out"), "cache_dir": str(root / "cache"), "seed": 3,
           "languages": ["en", "pt"],
           "sources": [{"name": "tiny", "format": "squad", "path": str(root / "tiny.json"), "license": "cc0-1.0"}],
           "batching": {"batch_size": 4},
           "quality": {"langid": False, "numbers": False, "entities": False, "untranslated": False, "garbled": False}}
    path = write_config(tmp_path, yaml.safe_dump(cfg))
    runner = CliRunner()
    r = runner.invoke(cli.app, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stderr.splitlines() if "deprecated" in x]
    assert len(lines) == 5 and f"WARNING mt_aug.config: {path}: quality.langid: false is deprecated: use " \
        "quality.langid.enabled" in lines
    monkeypatch.setattr(config_load, "_WARNED", set())  # once per process: this test is one process for both
    r = runner.invoke(cli.app, ["build", str(path), "--executor", "local"])
    assert r.exit_code == 0, r.output
    assert [x for x in r.stderr.splitlines() if "deprecated" in x] == lines
    built = json.loads((Path(r.stdout.strip().splitlines()[-1]) / "manifest.json").read_text())
    published = json.loads((root / "out" / "current" / "manifest.json").read_text())
    assert built["config_hash"] == published["config_hash"]  # make_build wrote the new spelling
