from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DEMO_CONFIG, DEMO_DATA, write_config
from mt_aug.config import ConfigError, load_config

GOOD = f"""
name: t
output_dir: out
languages: [en, pt]
sources:
  - name: s
    format: squad
    path: {DEMO_DATA}/demo_squad.json
batching:
  batch_size: 4
"""


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(tmp_path, text))
    return str(exc.value)


def test_demo_config_is_valid() -> None:
    cfg = load_config(DEMO_CONFIG)
    assert cfg.languages == ["en", "pt"]
    assert cfg.target_languages == ["pt"]
    assert cfg.sources[0].path is not None and cfg.sources[0].path.is_file()
    assert cfg.output_dir.is_absolute()


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, GOOD))
    assert cfg.output_dir == (tmp_path / "out").resolve()


def test_batch_size_bound_names_file_and_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("batch_size: 4", "batch_size: 1"))
    assert msg == f"{tmp_path / 'cfg.yaml'}: batching.batch_size: must be >= 2"


def test_a_seed_the_sampler_cannot_take_is_refused(tmp_path: Path) -> None:
    """Every seed a config accepts draws views, packing and each epoch's order (issue 20: `seed:
    -5` validated, built, then failed in the trainer's set_epoch)."""
    assert _error(tmp_path, GOOD + "seed: -5\n") == f"{tmp_path / 'cfg.yaml'}: seed: must be >= 0"
    assert _error(tmp_path, GOOD + f"seed: {2**64}\n") == f"{tmp_path / 'cfg.yaml'}: seed: must be <= {2**63 - 1}"
    assert load_config(write_config(tmp_path, GOOD + f"seed: {2**63 - 1}\n")).seed == 2**63 - 1


def test_unknown_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD + "colour: blue\n")
    assert msg.endswith("cfg.yaml: colour: unknown key")


def test_unknown_nested_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("    format: squad", "    format: squad\n    pth: x"))
    assert msg.endswith("cfg.yaml: sources[0].pth: unknown key")


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, "name: [unclosed\n")
    assert "cfg.yaml: line" in msg and "invalid YAML" in msg


def test_missing_file(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("demo_squad.json", "nope.json"))
    assert "sources[0].path: no such file" in msg and "nope.json" in msg


def test_unknown_language(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("[en, pt]", "[en, pt, xx]"))
    assert "cfg.yaml: languages[2]: unknown language code 'xx' (known: ar bn de" in msg


def test_english_required(tmp_path: Path) -> None:
    assert "languages: must include the source language 'en'" in _error(tmp_path, GOOD.replace("[en, pt]", "[de, pt]"))


def test_bergamot_cannot_translate_german(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("[en, pt]", "[en, pt, de]"))
    assert "translator.backend: the bundled bergamot models translate" in msg and "en->de" in msg


def test_backend_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ctranslate2" else real(name, *a))
    text = GOOD + f"translator:\n  backend: ctranslate2\n  model: {tmp_path}\n"
    msg = _error(tmp_path, text)
    assert msg.endswith("translator.backend: backend 'ctranslate2' needs the Python package 'ctranslate2', which is not installed")


def test_bad_literal(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD + "translator:\n  backend: google\n")
    assert "translator.backend: must be one of" in msg


def test_override_errors_name_the_language(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD + "translator:\n  overrides:\n    pt: {beam_size: 0}\n")
    assert msg.endswith("translator.overrides.pt.beam_size: must be >= 1")


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    assert "(top level): must be a mapping" in _error(tmp_path, "- a\n- b\n")


def test_a_config_path_that_is_a_folder_or_not_text_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a directory, not a config file$"):
        load_config(tmp_path)
    binary = tmp_path / "c.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: not UTF-8 text"):
        load_config(binary)
