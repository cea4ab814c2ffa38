"""Inputs of the scale benchmark (benchmarks/scale.py): the generated SQuAD file, the build
config, and the synthetic "translation" that fills the cache.

The synthetic transform stands in for a model so that a 1M-pair build can have every
translation in the cache: a deterministic per-language character map of the English segment
(Latin targets: a letter shift tagged by the language; ru/ar/el: letters of the language's
script; zh: CJK characters without spaces), the same number of letters as the source. It is
not a translation, so the config switches off every quality signal that would judge it as one
(language ID, untranslated, numbers, entities, length loss, round-trip) and widens the length
band: the gate then keeps every segment, and its verdicts are cached like real ones.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from readers import gen_squad  # noqa: E402  (benchmarks/readers.py: random words, 5 questions per passage)

SHARED = ROOT.parent / "shared" / "data"
# The translator the config names: never loaded (every segment is in the cache by the measured build).
SYNTHETIC_MODEL = "mt-aug-bench/synthetic-transform"
TARGETS = {2: ["de", "zh"], 6: ["de", "es", "ru", "zh", "ar", "vi"]}

_LOWER = string.ascii_lowercase
_UPPER = string.ascii_uppercase
# 26 letters of each script (repeats allowed where a script has fewer letters we want to use)
_SCRIPTS = {
    "ru": "абвгдежзийклмнопрстуфхцчшщ",
    "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنه",
    "el": "αβγδεζηθικλμνξοπρστυφχψωάέ",
}


def _table(lang: str) -> dict[int, str]:
    if lang in _SCRIPTS:
        letters = _SCRIPTS[lang]
        table = {ord(a): b for a, b in zip(_LOWER, letters, strict=True)}
        table.update({ord(a): b.upper() for a, b in zip(_UPPER, letters, strict=True)})
        return table
    if lang in ("zh", "ja"):
        base = 0x4E00 + 97 * (1 if lang == "zh" else 2)
        table = {ord(a): chr(base + i) for i, a in enumerate(_LOWER)}
        table.update({ord(a): chr(base + 26 + i) for i, a in enumerate(_UPPER)})
        table[ord(" ")] = None  # type: ignore[assignment]  # no spaces between words
        table[ord("?")] = "？"
        table[ord(".")] = "。"
        table[ord(",")] = "，"
        return table
    k = 1 + sum(map(ord, lang)) % 25  # a letter shift tagged by the language
    table = {ord(a): _LOWER[(i + k) % 26] for i, a in enumerate(_LOWER)}
    table.update({ord(a): _UPPER[(i + k) % 26] for i, a in enumerate(_UPPER)})
    return table


def synthetic(text: str, tgt: str) -> str:
    return text.translate(_table(tgt))


class SyntheticBackend:
    """A translation backend without a model: `synthetic()` of each segment."""

    name = "synthetic"
    model_id = SYNTHETIC_MODEL

    def __init__(self, src: str, tgt: str) -> None:
        self.calls = 0
        self._tables = {tgt: _table(tgt)}

    def translate(self, segments: Sequence[str], src: str, tgt: str):  # type: ignore[no-untyped-def]
        from mt_aug.translation.base import Translation

        table = self._tables.get(tgt) or self._tables.setdefault(tgt, _table(tgt))
        self.calls += 1
        return [Translation(s.translate(table), hit_length_limit=False) for s in segments]

    def close(self) -> None:
        pass


def install_synthetic_backend() -> None:
    """Make every backend the build starts a SyntheticBackend (in this process)."""
    from mt_aug.translation import engine

    def make_backend(spec, src, tgt):  # type: ignore[no-untyped-def]
        return SyntheticBackend(src, tgt)

    engine.make_backend = make_backend  # shared_backend and translate_unique look it up here
    engine._BACKENDS.clear()


def quality_section() -> dict:
    """Every quality signal of mt_aug.config.QualityConfig that judges a real translation by
    its shape or language switched off (the synthetic model's output is no language), and a
    wide length band."""
    off = {k: {"enabled": False} for k in ("langid", "untranslated", "numbers", "entities", "length_loss",
                                            "roundtrip", "length_limit")}
    wide = {"length_ratio": {"enabled": False, "min": 0.01, "max": 100.0},
            "repetition": {"enabled": False, "max_fraction": 1.0}}
    return off | wide


def write_config(path: Path, *, name: str, squad: Path, targets: list[str], out: Path, cache: Path,
                 results: Path | None, eval_sets: bool) -> Path:
    """A build config for the generated source (YAML written as JSON, which YAML reads)."""
    import json

    cfg: dict = {
        "name": name,
        "output_dir": str(out),
        "seed": 1,
        "languages": ["en", *targets],
        "sources": [{"name": "squad-gen", "format": "squad", "path": str(squad), "license": "cc0-1.0"}],
        "translator": {"backend": "transformers", "model": SYNTHETIC_MODEL, "batch_size": 256, "unit_size": 4096},
        "batching": {"batch_size": 32},
        "quality": quality_section(),
        "guards": {"max_quality_drop_fraction": 1.0},
        "cache_dir": str(cache),
        "keep_builds": 1,
    }
    if results is not None:
        cfg["result_storage"] = str(results)
    if eval_sets:  # never skipped silently: a run without decontamination costs a third less
        if not (SHARED / "xquad" / "xquad.en.json").is_file():
            raise SystemExit(f"scale: {SHARED / 'xquad'}: no XQuAD files for the eval set (run from the repository "
                             f"beside shared/, or pass --no-eval to measure without decontamination)")
        cfg["eval_sets"] = [{"name": "xquad", "format": "squad", "paths": str(SHARED / "xquad" / "xquad.{lang}.json")}]
    path.write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    return path


__all__ = ["TARGETS", "SyntheticBackend", "gen_squad", "install_synthetic_backend", "quality_section",
           "synthetic", "write_config"]
