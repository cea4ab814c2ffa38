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
    """The stages run as a plain library: collect, decontaminate, segment, translate, reassemble."""
    from mt_aug.config import BuildConfig, SourceConfig
    from mt_aug.pipeline.builder import finish_language, run_source_side, translate_all
    from mt_aug.pipeline.executor import LocalExecutor
    from mt_aug.pipeline.stage import StageContext

    cfg = BuildConfig(name="t", output_dir=tmp_path, cache_dir=tmp_path / "cache", languages=["en", "pt"],
                      sources=[SourceConfig(name="demo", format="squad", path=DEMO_DATA / "demo_squad.json")])
    side = run_source_side(cfg, LocalExecutor())
    # pairs whose passages the gate keeps (the first six ask about two passages it drops:
    # one garbled, "serrria", one that loses the "fish weirs")
    side.pairs = side.pairs.slice(6, 6)
    from mt_aug.pairs import compact
    from mt_aug.translation.texts import segment_table

    side.pairs = compact(side.pairs)
    side.segmented = segment_table(side.pairs)
    side.unique = side.segmented.unique()
    from mt_aug.quality.verdict_cache import VerdictCache
    from mt_aug.translation.cache import TranslationCache

    path = cfg.cache_dir / TranslationCache.FILE
    with TranslationCache(path) as cache, VerdictCache.beside(path) as vcache:
        ctx = StageContext(LocalExecutor(), cache, vcache)
        tr = translate_all(ctx, cfg, side.unique)["pt"]
        result = finish_language(ctx, cfg, side, tr)
    assert result.stats["translated"] == result.stats["unique"] > 6
    assert result.texts.num_rows == 6
    questions = [q for q in result.texts.column("query").to_pylist() if q is not None]
    assert questions and all(q.endswith("?") for q in questions)
