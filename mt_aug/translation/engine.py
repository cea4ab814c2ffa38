"""The one translation path: the cache first, misses cut into length-sorted work units run on
an executor (this process by default), results stored as units complete.

`translate_requests` is the path; `Translator` binds it to a cache and an executor's workers
(what a stage gets as `ctx.translate`, and what the quality gate translates back and looks
names up with); `translate_unique` is one direction in this process with a backend of its own
(tests, `mt-aug translate`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from mt_aug.config import ModelSpec
from mt_aug.core.executor import LocalUnits, Resources, UnitRunner
from mt_aug.translation import bergamot, hf
from mt_aug.translation.base import Backend, BackendError, Translation
from mt_aug.translation.bergamot import BergamotBackend
from mt_aug.translation.cache import CacheScope, TranslationCache
from mt_aug.translation.hf import CTranslate2Backend, TransformersBackend

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, float], None]  # (done, total, segments per second)
K = TypeVar("K", bound=Hashable)


def make_backend(spec: ModelSpec, src: str, tgt: str) -> Backend:
    """Start the backend a spec names. Raises BackendError before any work if it cannot."""
    if spec.backend == "bergamot":
        return BergamotBackend(src, tgt, threads=spec.threads)

    if spec.backend == "transformers":
        return TransformersBackend(spec, src, tgt)
    if spec.backend == "ctranslate2":
        return CTranslate2Backend(spec, src, tgt)
    raise BackendError(f"unknown backend {spec.backend!r}")


_BACKENDS: dict[tuple[str, str, str], tuple[object, Backend]] = {}
_BACKENDS_LOCK = threading.Lock()


def shared_backend(spec: ModelSpec, src: str, tgt: str) -> Backend:
    """The process's one backend for a spec and direction: a worker loads its model once and
    reuses it for every work unit it is given. (Kept with the factory that made it: a backend
    made by another `make_backend`, e.g. a test's stand-in, is not handed out after it.)"""
    key = (spec.model_dump_json(), src, tgt)
    with _BACKENDS_LOCK:
        made_by, backend = _BACKENDS.get(key, (None, None))
        if backend is None or made_by is not make_backend:
            backend = make_backend(spec, src, tgt)
            _BACKENDS[key] = (make_backend, backend)
        return backend


def translate_batch(backend: Backend, batch: Sequence[str], src: str, tgt: str) -> list[Translation]:
    """One model call, checked: exactly one output per input."""
    got = backend.translate(batch, src, tgt)
    if len(got) != len(batch):
        raise BackendError(f"{backend.name}: returned {len(got)} outputs for {len(batch)} inputs")
    return got


def translate_with(backend: Backend, spec: ModelSpec, src: str, tgt: str, segments: Sequence[str]) -> list[Translation]:
    """Segments through a backend in batches of spec.batch_size: pure (no cache)."""
    out: list[Translation] = []
    for i in range(0, len(segments), spec.batch_size):
        out.extend(translate_batch(backend, segments[i : i + spec.batch_size], src, tgt))
    return out


def work_units(misses: Sequence[str], unit_size: int) -> list[list[str]]:
    """Cache misses in length order (similar lengths pad least; ties by text, so the units
    are the same on every runner), cut into units of at most unit_size segments."""
    ordered = sorted(misses, key=lambda s: (len(s), s))
    return [ordered[i : i + unit_size] for i in range(0, len(ordered), unit_size)]


def model_identity(spec: ModelSpec, src: str, tgt: str) -> str:
    """The model id (with revision or content hash) without loading the model."""
    if spec.backend == "bergamot":
        return bergamot.model_identity(src, tgt)

    return hf.model_identity(spec)


def unit_resources(spec: ModelSpec) -> Resources:
    """What a work unit of this model needs: its backend's threads, and a GPU on `device: cuda`
    (`auto` takes one where it finds one, so it asks for none)."""
    return Resources(cpus=float(spec.threads), gpus=1.0 if spec.device == "cuda" else 0.0)


def cache_scope(spec: ModelSpec, src: str, tgt: str) -> CacheScope:
    return CacheScope.of(spec.backend, model_identity(spec, src, tgt), src, tgt, spec.decoding())


@dataclass(frozen=True, slots=True)
class TranslateStats:
    unique: int
    cached: int
    translated: int
    model_calls: int
    seconds: float
    fresh: frozenset[str] = frozenset()  # the segments the model translated in this call
    cache_mismatches: int = 0  # cached rows that failed their checksum: translated again


@dataclass
class Request:
    """Segments to translate in one direction with one model."""

    spec: ModelSpec
    src: str
    tgt: str
    segments: Sequence[str]


class UnitResult(list):  # type: ignore[type-arg]
    """A work unit's translations, with the seconds the model took (measured where it ran)."""

    seconds: float = 0.0


def run_unit(specs: Mapping[Any, tuple[ModelSpec, str, str]], job: tuple[Any, list[str]],
             backend_factory: Callable[[], Backend] | None = None) -> UnitResult:
    """One work unit on whatever runs it (this process, a Dask or Ray worker): pure, no cache."""
    key, segments = job
    spec, src, tgt = specs[key]
    t0 = time.monotonic()
    backend = shared_backend(spec, src, tgt) if backend_factory is None else backend_factory()
    out = UnitResult(translate_with(backend, spec, src, tgt, segments))
    out.seconds = time.monotonic() - t0
    return out


def translate_requests(
    requests: dict[K, Request],
    *,
    cache: TranslationCache,
    unit_size: int,
    executor: UnitRunner | None = None,
    backend_factory: Callable[[], Backend] | None = None,
    progress: ProgressFn | None = None,
    name: str = "translate",
) -> dict[K, tuple[dict[str, Translation], TranslateStats]]:
    """The one translation path. Look every distinct segment up in the cache; cut the misses of
    every request into length-sorted work units; run the units on the executor (default: this
    process, one after another; the Prefect executor spreads them over its task runner's
    workers, each placed by its model's `unit_resources`); store each unit's results in the
    cache as it completes, so this process is the cache's one writer and a crash loses at most
    the units in flight. `name`: of the units and their progress (`translate-unit-<i>`)."""
    run: UnitRunner = executor if executor is not None else LocalUnits()
    state: dict[K, dict] = {}  # type: ignore[type-arg]
    jobs: list[tuple[K, list[str]]] = []
    for key, req in requests.items():
        t0 = time.monotonic()
        unique = sorted(set(req.segments))
        scope = cache_scope(req.spec, req.src, req.tgt)
        bad_before = cache.mismatches
        found = cache.get_many(scope, unique)
        misses = [s for s in unique if s not in found]
        units = work_units(misses, unit_size)
        state[key] = {"scope": scope, "found": found, "unique": len(unique), "misses": misses, "calls": 0,
                      "seconds": time.monotonic() - t0, "mismatches": cache.mismatches - bad_before}
        log.info("translate %s->%s: %d unique segments, %d in the cache, %d to translate in %d work unit(s)",
                 req.src, req.tgt, len(unique), len(found), len(misses), len(units))
        jobs += [(key, u) for u in units]
    specs = {key: (req.spec, req.src, req.tgt) for key, req in requests.items()}
    fn = partial(run_unit, specs, backend_factory=backend_factory)
    total, done, t1 = sum(len(u) for _, u in jobs), 0, time.monotonic()
    placed = [unit_resources(requests[key].spec) for key, _ in jobs]
    for i, outs in run.map_units(fn, jobs, name=name, resources=placed):
        key, unit = jobs[i]
        st = state[key]
        cache.put_many(st["scope"], zip(unit, outs, strict=True))
        st["found"].update(zip(unit, outs, strict=True))
        st["calls"] += -(-len(unit) // requests[key].spec.batch_size)
        st["seconds"] += getattr(outs, "seconds", 0.0)
        done += len(unit)
        rate = done / max(time.monotonic() - t1, 1e-9)
        run.report(name, done, total, f"segments, {rate:.1f} segments/s, ETA {(total - done) / max(rate, 1e-9):.0f}s")
        if progress is not None:
            progress(done, total, rate)
    return {key: (st["found"], TranslateStats(unique=st["unique"], cached=st["unique"] - len(st["misses"]),
                                              translated=len(st["misses"]), model_calls=st["calls"],
                                              seconds=st["seconds"], fresh=frozenset(st["misses"]),
                                              cache_mismatches=st["mismatches"]))
            for key, st in state.items()}


def translate_unique(
    segments: Sequence[str],
    *,
    spec: ModelSpec,
    src: str,
    tgt: str,
    cache: TranslationCache,
    backend_factory: Callable[[], Backend] | None = None,
    progress: ProgressFn | None = None,
    executor: UnitRunner | None = None,
) -> tuple[dict[str, Translation], TranslateStats]:
    """Translate each distinct segment once, in one direction (`translate_requests` with one
    request; units of one batch, so every model call is stored before the next). The backend
    is started only if something misses, and closed at the end."""
    made: list[Backend] = []

    def backend() -> Backend:
        if not made:
            made.append((backend_factory or (lambda: make_backend(spec, src, tgt)))())
        return made[0]

    try:
        got = translate_requests({0: Request(spec, src, tgt, segments)}, cache=cache, unit_size=spec.batch_size,
                                 executor=executor, backend_factory=backend, progress=progress)
    finally:
        if made:
            made[0].close()
    return got[0]


class TranslateFn(Protocol):
    """Segments in one direction through the one translation path: (translation of each
    distinct segment, what it cost). What the quality gate is given to translate back and to
    look names up with (`Translator`; in a build, the stage context's `translate`)."""

    def __call__(self, segments: Sequence[str], spec: ModelSpec, src: str, tgt: str, *,
                 progress: ProgressFn | None = None) -> tuple[dict[str, Translation], TranslateStats]: ...


class Translator:
    """`translate_requests` bound to a translation cache and to where units run (an executor's
    workers; default: this process). A worker translates with its process's one backend per
    model and direction (`shared_backend`: loaded once, kept for the next unit), unless
    `backend_factory` gives one (tests). `unit_size`: segments per work unit (a build's
    `translator.unit_size`; None: one batch of the model per unit, so every model call is in
    the cache before the next)."""

    def __init__(self, cache: TranslationCache, runner: UnitRunner | None = None, *, unit_size: int | None = None,
                 backend_factory: Callable[[], Backend] | None = None) -> None:
        self.cache, self.runner = cache, runner if runner is not None else LocalUnits()
        self.unit_size, self.backend_factory = unit_size, backend_factory

    def requests(self, requests: dict[K, Request], *, progress: ProgressFn | None = None,
                 name: str = "translate") -> dict[K, tuple[dict[str, Translation], TranslateStats]]:
        """Several directions at once (their units interleaved on the workers)."""
        size = self.unit_size or min((r.spec.batch_size for r in requests.values()), default=1)
        return translate_requests(requests, cache=self.cache, unit_size=size, executor=self.runner,
                                  backend_factory=self.backend_factory, progress=progress, name=name)

    def __call__(self, segments: Sequence[str], spec: ModelSpec, src: str, tgt: str, *,
                 progress: ProgressFn | None = None) -> tuple[dict[str, Translation], TranslateStats]:
        """One direction (a TranslateFn); its units are named `translate-<src>-<tgt>`."""
        return self.requests({0: Request(spec, src, tgt, segments)}, progress=progress,
                             name=f"translate-{src}-{tgt}")[0]
