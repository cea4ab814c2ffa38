"""transformers and CTranslate2 backends on a tiny random Marian model built here."""

from __future__ import annotations

from pathlib import Path

import pytest

from mt_aug.config import ModelSpec
from mt_aug.translation.base import BackendError
from tests.fixtures.random_models import build_marian

SENTENCES = ["The cat sees the river near the city.", "The dog.", "The teacher paints the bridge near the hill.",
             "farmer likes tree", "The bird follows the house near the sea."]


@pytest.fixture(scope="module")
def marian(tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    import torch

    from mt_aug.translation.hf import convert

    torch.set_flush_denormal(True)
    root = tmp_path_factory.mktemp("models")
    hf = build_marian(root / "marian")
    ct2 = Path(convert(str(hf), str(root / "marian-ct2")))
    ct2_int8 = Path(convert(str(hf), str(root / "marian-ct2-int8"), quantization="int8"))
    return {"hf": hf, "ct2": ct2, "ct2_int8": ct2_int8}


def test_transformers_and_ctranslate2_give_identical_greedy_output(marian: dict[str, Path]) -> None:
    from mt_aug.translation.hf import CTranslate2Backend, TransformersBackend

    hf = TransformersBackend(ModelSpec(backend="transformers", model=str(marian["hf"]), max_length=24), "en", "pt")
    ct = CTranslate2Backend(ModelSpec(backend="ctranslate2", model=str(marian["ct2"]), compute_type="float32",
                                      max_length=24), "en", "pt")
    a, b = hf.translate(SENTENCES, "en", "pt"), ct.translate(SENTENCES, "en", "pt")
    assert [x.text for x in a] == [x.text for x in b]
    assert len({x.text for x in a}) > 1  # the output depends on the input
    assert [x.hit_length_limit for x in a] == [x.hit_length_limit for x in b]


def test_int8_model_runs_and_engine_caches(marian: dict[str, Path], tmp_path: Path) -> None:
    from mt_aug.translation.cache import TranslationCache
    from mt_aug.translation.engine import translate_unique

    spec = ModelSpec(backend="ctranslate2", model=str(marian["ct2_int8"]), max_length=24, batch_size=2)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        out, s = translate_unique(SENTENCES + SENTENCES[:2], spec=spec, src="en", tgt="pt", cache=cache)
        assert (s.unique, s.translated, s.model_calls) == (5, 5, 3)
        _, s2 = translate_unique(SENTENCES, spec=spec, src="en", tgt="pt", cache=cache)
        assert (s2.cached, s2.translated) == (5, 0)
    assert set(out) == set(SENTENCES)


def test_not_a_translation_model(tmp_path: Path) -> None:
    from transformers import BertConfig

    from mt_aug.translation.hf import TransformersBackend

    BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(BackendError, match="not a translation model"):
        TransformersBackend(ModelSpec(backend="transformers", model=str(tmp_path)), "en", "pt")


def test_missing_tokenizer(marian: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from mt_aug.translation.hf import CTranslate2Backend

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.bin", "config.json", "shared_vocabulary.json"):
        shutil.copy(marian["ct2"] / name, bare / name)
    with pytest.raises(BackendError, match="cannot load a tokenizer"):
        CTranslate2Backend(ModelSpec(backend="ctranslate2", model=str(bare)), "en", "pt")


def test_not_a_ct2_folder(tmp_path: Path) -> None:
    from mt_aug.translation.hf import CTranslate2Backend

    with pytest.raises(BackendError, match="not a CTranslate2 model folder"):
        CTranslate2Backend(ModelSpec(backend="ctranslate2", model=str(tmp_path)), "en", "pt")


@pytest.fixture(scope="module")
def nllb(tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    from mt_aug.translation.hf import convert
    from tests.fixtures.random_models import build_nllb

    root = tmp_path_factory.mktemp("nllb")
    hf = build_nllb(root / "nllb")
    return {"hf": hf, "ct2": Path(convert(str(hf), str(root / "nllb-ct2")))}


def test_nllb_language_codes_through_both_backends(nllb: dict[str, Path]) -> None:
    from mt_aug.translation.hf import CTranslate2Backend, TransformersBackend

    hf = TransformersBackend(ModelSpec(backend="transformers", model=str(nllb["hf"]), max_length=24), "en", "pt")
    assert hf.tgt_code == "por_Latn" and hf.tok.src_lang == "eng_Latn"
    ct = CTranslate2Backend(ModelSpec(backend="ctranslate2", model=str(nllb["ct2"]), compute_type="float32",
                                      max_length=24), "en", "pt")
    a, b = hf.translate(SENTENCES, "en", "pt"), ct.translate(SENTENCES, "en", "pt")
    assert [(x.text, x.hit_length_limit) for x in a] == [(x.text, x.hit_length_limit) for x in b]
    # another target language gives other output: the code steers the decoder
    de = TransformersBackend(ModelSpec(backend="transformers", model=str(nllb["hf"]), max_length=24), "en", "de")
    assert [x.text for x in de.translate(SENTENCES, "en", "de")] != [x.text for x in a]


def test_nllb_unknown_language_fails_before_work(nllb: dict[str, Path]) -> None:
    from mt_aug import languages
    from mt_aug.translation.hf import TransformersBackend

    languages.LANGUAGES["xx"] = languages.Language("xx", "Nowhere", "xxx_Latn", "Latn")
    try:
        with pytest.raises(BackendError, match="does not know language xxx_Latn"):
            TransformersBackend(ModelSpec(backend="transformers", model=str(nllb["hf"])), "en", "xx")
    finally:
        del languages.LANGUAGES["xx"]


def test_cache_key_names_the_compute_type_the_backend_runs(marian: dict[str, Path]) -> None:
    """device: auto on a machine without a GPU runs int8; the cache key must say so too."""
    from mt_aug.translation.engine import model_identity
    from mt_aug.translation.hf import CTranslate2Backend

    spec = ModelSpec(backend="ctranslate2", model=str(marian["ct2_int8"]), device="auto")
    backend = CTranslate2Backend(spec, "en", "pt")
    assert model_identity(spec, "en", "pt") == backend.model_id
    assert backend.model_id.endswith("/int8")
