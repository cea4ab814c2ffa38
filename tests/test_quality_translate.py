"""`mt-aug translate --round-trip`: the same gate as a build with `quality.roundtrip.enabled: true`, on
the bundled real Bergamot engine (en->pt, back pt->en), lines written for this test (short:
too few letters for language ID, whose models take ~2 s to load)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mt_aug.cli import app
from mt_aug.config import ModelSpec
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import cache_scope


def test_translate_round_trip_with_bergamot(tmp_path: Path) -> None:
    """The outputs are translated back through the cache and scored by chrF: "The rook wins."
    -> "A torre ganha." -> "The tower wins." (chrF 36) is dropped under a threshold of 50 and
    reported on stderr; "My dog barks." (back: "My dog bark.", chrF 79) is kept. Without
    --round-trip both are kept."""
    src = tmp_path / "in.txt"
    src.write_text("My dog barks.\nThe rook wins.\n")
    out = tmp_path / "out.txt"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    runner = CliRunner()
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), *cache])
    assert r.exit_code == 0 and "0 filtered" in r.stdout and "filtered:" not in r.stderr
    assert out.read_text().splitlines() == ["Meu cão ladra.", "A torre ganha."]
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), "--round-trip", "--round-trip-min-chrf", "50",
                            *cache])
    assert r.exit_code == 0, r.output
    assert "1 filtered (round-trip: 1)" in r.stdout
    assert "line 2: filtered: round-trip" in r.stderr and "line 1:" not in r.stderr
    assert out.read_text().splitlines() == ["Meu cão ladra.", ""]
    with TranslationCache(tmp_path / "cache" / "translations.sqlite") as c:  # the back-translations, cached
        back = c.get_many(cache_scope(ModelSpec(), "pt", "en"), ["Meu cão ladra.", "A torre ganha."])
    assert {k: v.text for k, v in back.items()} == {"Meu cão ladra.": "My dog bark.", "A torre ganha.": "The tower wins."}
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), "--round-trip-min-chrf", "50", *cache])
    assert r.exit_code == 2 and "--round-trip-min-chrf: needs --round-trip" in r.output


def test_translate_judges_with_a_build_configs_quality_settings(tmp_path: Path) -> None:
    """--config: the config's `quality:` section. "The lighthouse keeper wrote a diary about
    storms." -> "O farol escreveu um diário sobre tempestades." (Bergamot: the keeper is gone)
    is kept by the defaults ("keeper" is too common for word lost at Zipf 3.5) and filtered
    with coverage.max_zipf 4.5; a config with the round-trip on allows --round-trip-min-chrf."""
    from conftest import demo_config_text, write_config

    src = tmp_path / "in.txt"
    src.write_text("The lighthouse keeper wrote a diary about storms.\nMy dog barks.\n")
    out, cache = tmp_path / "out.txt", ["--cache-dir", str(tmp_path / "cache")]
    runner = CliRunner()
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), *cache])
    assert r.exit_code == 0 and "0 filtered" in r.stdout
    text = demo_config_text(tmp_path / "o", tmp_path / "c")
    cfg = write_config(tmp_path, text + "\nquality: {coverage: {max_zipf: 4.5}}\n")
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), *cache, "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "1 filtered (word lost: 1)" in r.stdout and "line 1: filtered: word lost" in r.stderr
    assert out.read_text().splitlines() == ["", "Meu cão ladra."]
    rt = write_config(tmp_path, text + "\nquality: {roundtrip: {enabled: true}}\n", "rt.yaml")
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), *cache, "--config", str(rt),
                            "--round-trip-min-chrf", "10"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["-q", "translate", str(src), str(out), *cache, "--config", str(tmp_path / "no.yaml")])
    assert r.exit_code == 2 and "no.yaml: no such file" in r.output
