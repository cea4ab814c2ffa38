from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DEMO_DATA
from mt_aug import languages

REQUIRED = "ar bn de el en es fa fi fr hi id ja ko ro ru sw te th tr vi yo zh".split()


def test_registry_covers_xquad_mlqa_miracl_languages() -> None:
    for code in REQUIRED:
        lang = languages.get(code)
        assert lang.nllb.count("_") == 1 and len(lang.nllb.split("_")[0]) == 3
    assert languages.nllb_code("zh") == "zho_Hans" and languages.nllb_code("de") == "deu_Latn"
    assert languages.opus_mt_model("en", "de") == "Helsinki-NLP/opus-mt-en-de"
    assert not languages.is_spaced("th") and languages.is_spaced("ru")


def test_unknown_code() -> None:
    with pytest.raises(languages.UnknownLanguage, match="unknown language code 'xx'"):
        languages.nllb_code("xx")


def test_translate_language_without_prefect(tmp_path: Path) -> None:
    """The stage functions run as a plain library: collect, decontaminate, segment, translate."""
    from mt_aug.readers.collect import collect
    from mt_aug.config import BuildConfig, SourceConfig
    from mt_aug.translation.reassemble import segment_pairs
    from mt_aug.pipeline.stages import decontaminate_source, translate_language

    cfg = BuildConfig(name="t", output_dir=tmp_path, cache_dir=tmp_path / "cache", languages=["en", "pt"],
                      sources=[SourceConfig(name="demo", format="squad", path=DEMO_DATA / "demo_squad.json")])
    got = collect(cfg)
    pairs = decontaminate_source(got.pairs, got.ledger, None).pairs[:6]
    result = translate_language(cfg, pairs, segment_pairs(pairs), "pt", None)
    assert result.stats["translated"] == result.stats["unique"] > 6
    assert set(result.texts) == {p.pair_id for p in pairs}
    assert all(t.question.endswith("?") for t in result.texts.values())
