"""Translate the unique segments of one target language: cache first, misses to the model in
length-sorted batches, results stored as they arrive."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mt_aug.config import ModelSpec
from mt_aug.translation.base import Backend, BackendError, Translation
from mt_aug.translation.cache import CacheScope, TranslationCache

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, float], None]  # (done, total, segments per second)


def make_backend(spec: ModelSpec, src: str, tgt: str) -> Backend:
    """Start the backend a spec names. Raises BackendError before any work if it cannot."""
    if spec.backend == "bergamot":
        from mt_aug.translation.bergamot import BergamotBackend

        return BergamotBackend(src, tgt, threads=spec.threads)
    from mt_aug.translation.hf import CTranslate2Backend, TransformersBackend

    if spec.backend == "transformers":
        return TransformersBackend(spec, src, tgt)
    if spec.backend == "ctranslate2":
        return CTranslate2Backend(spec, src, tgt)
    raise BackendError(f"unknown backend {spec.backend!r}")


_BACKENDS: dict[tuple[str, str, str], Backend] = {}
_BACKENDS_LOCK = threading.Lock()


def shared_backend(spec: ModelSpec, src: str, tgt: str) -> Backend:
    """The process's one backend for a spec and direction: a worker loads its model once and
    reuses it for every work unit it is given."""
    key = (spec.model_dump_json(), src, tgt)
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            backend = _BACKENDS[key] = make_backend(spec, src, tgt)
        return backend


def translate_batch(backend: Backend, batch: Sequence[str], src: str, tgt: str) -> list[Translation]:
    """One model call, checked: exactly one output per input."""
    got = backend.translate(batch, src, tgt)
    if len(got) != len(batch):
        raise BackendError(f"{backend.name}: returned {len(got)} outputs for {len(batch)} inputs")
    return got


def translate_unit(spec: ModelSpec, src: str, tgt: str, segments: Sequence[str]) -> list[Translation]:
    """A work unit, on whatever worker runs it: pure (no cache), batches of spec.batch_size."""
    backend = shared_backend(spec, src, tgt)
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
        from mt_aug.translation import bergamot

        return bergamot.model_identity(src, tgt)
    from mt_aug.translation import hf

    return hf.model_identity(spec)


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


def translate_unique(
    segments: Sequence[str],
    *,
    spec: ModelSpec,
    src: str,
    tgt: str,
    cache: TranslationCache,
    backend_factory: Callable[[], Backend] | None = None,
    progress: ProgressFn | None = None,
) -> tuple[dict[str, Translation], TranslateStats]:
    """Translate each distinct segment once. The backend is started only if something misses."""
    t0 = time.monotonic()
    unique = sorted(set(segments))
    scope = cache_scope(spec, src, tgt)
    bad_before = cache.mismatches
    found = cache.get_many(scope, unique)
    misses = [s for s in unique if s not in found]
    calls = 0
    if misses:
        backend = (backend_factory or (lambda: make_backend(spec, src, tgt)))()
        try:
            # Length-sorted batches: similar lengths pad least. Ties by text keep it deterministic.
            misses.sort(key=lambda s: (len(s), s))
            done, t1 = 0, time.monotonic()
            for i in range(0, len(misses), spec.batch_size):
                batch = misses[i : i + spec.batch_size]
                outs = translate_batch(backend, batch, src, tgt)
                calls += 1
                cache.put_many(scope, zip(batch, outs, strict=True))
                found.update(zip(batch, outs, strict=True))
                done += len(batch)
                if progress is not None:
                    progress(done, len(misses), done / max(time.monotonic() - t1, 1e-9))
        finally:
            backend.close()
    stats = TranslateStats(
        unique=len(unique),
        cached=len(unique) - len(misses),
        translated=len(misses),
        model_calls=calls,
        seconds=time.monotonic() - t0,
        fresh=frozenset(misses),
        cache_mismatches=cache.mismatches - bad_before,
    )
    return found, stats
