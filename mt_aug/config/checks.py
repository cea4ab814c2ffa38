"""Checks of a validated config against the machine: backends installed, input files present."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mt_aug import languages
from mt_aug.config.errors import ConfigError
from mt_aug.config.models import BACKEND_MODULES, BuildConfig
from mt_aug.languages import SOURCE_LANG


def _check_backends(cfg: BuildConfig, shown: str) -> None:
    for lang in cfg.target_languages:
        spec = cfg.translator.for_language(lang)
        key = f"translator.overrides.{lang}.backend" if "backend" in cfg.translator.overrides.get(lang, {}) else "translator.backend"
        for module in BACKEND_MODULES[spec.backend]:
            if importlib.util.find_spec(module) is None:
                raise ConfigError(
                    f"{shown}: {key}: backend {spec.backend!r} needs the Python package {module!r}, which is not installed"
                )
        if spec.backend == "bergamot":
            if (SOURCE_LANG, lang) not in languages.BERGAMOT_PAIRS:
                pairs = ", ".join(f"{s}->{t}" for s, t in sorted(languages.BERGAMOT_PAIRS))
                raise ConfigError(
                    f"{shown}: {key}: the bundled bergamot models translate {pairs} only, not {SOURCE_LANG}->{lang}; "
                    f"route {lang!r} to another backend under translator.overrides.{lang}"
                )


def _check_files(cfg: BuildConfig, shown: str) -> None:
    for i, s in enumerate(cfg.sources):
        for key, p in s.input_files():
            if not p.is_file():
                raise ConfigError(f"{shown}: sources[{i}].{key}: no such file: {p}")
    for i, es in enumerate(cfg.eval_sets):
        for key in ("paths", "qrels", "corpus"):
            pm = getattr(es, key)
            if pm is None:
                continue
            if isinstance(pm, str):
                if not any(Path(pm.replace("{lang}", lang)).is_file() for lang in cfg.languages):
                    raise ConfigError(f"{shown}: eval_sets[{i}].{key}: no file matches {pm} for any build language")
                continue
            for lang, p in pm.items():
                for f in p if isinstance(p, list) else [p]:
                    if not f.is_file():
                        raise ConfigError(f"{shown}: eval_sets[{i}].{key}.{lang}: no such file: {f}")
    for lang in cfg.target_languages:
        spec = cfg.translator.for_language(lang)
        if spec.backend == "ctranslate2" and not Path(spec.model).is_dir():
            key = "translator.overrides." + lang + ".model" if "model" in cfg.translator.overrides.get(lang, {}) else "translator.model"
            raise ConfigError(f"{shown}: {key}: ctranslate2 needs a converted model folder; no such folder: {spec.model}")
