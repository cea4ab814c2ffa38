"""Encoding texts with a sentence-transformers model (loaded and hashed by
mt_aug.sentence_models), and an embedding cache.

The cache key is a hash of the model's *weights* (every parameter and buffer of the loaded
model, streamed tensor by tensor, plus what else decides an embedding: module configuration
such as pooling, max_seq_length, the tokenizer's vocabulary and normalizer), never its path: a model retrained into the same folder gets new keys. Embeddings
are stored per model hash, language file (sha256 of its bytes) and text kind as float32
``.npy`` files, written atomically, each with the sha256 of its bytes beside it
(``<name>.npy.sha256``): a cached file that fails its checksum (edited, truncated, or written
by a run that died between the two files) is warned about and recomputed, never used. Large
sets (a passage corpus) are encoded block by block into a memory-mapped file and read back
memory-mapped, so memory holds one block of embeddings, not the corpus.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mt_aug.core.files import sha256_file
from mt_aug.sentence_models import weights_hash

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path(".cache/mt-aug/embeddings")
ENCODE_BLOCK = 65536  # texts encoded at once into a memory-mapped cache file
MMAP_BYTES = 256 << 20  # cached files larger than this are memory-mapped, not read


@dataclass
class EmbeddingCache:
    """Embeddings on disk under ``root/<model hash>/<file sha256>-<kind>.npy``, each with its
    checksum in ``<same name>.sha256``."""

    root: Path | None  # None: no caching
    hits: int = 0
    misses: int = 0
    events: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # cached files that failed their check

    def path(self, model_hash: str, file_sha: str, kind: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / model_hash[:32] / f"{file_sha[:32]}-{kind}.npy"

    @staticmethod
    def checksum_path(p: Path) -> Path:
        return p.with_name(p.name + ".sha256")

    def _warn(self, p: Path, what: str) -> None:
        msg = f"{p}: cached embeddings {what}: recomputed"
        self.warnings.append(msg)
        log.warning(msg)

    def get(self, model_hash: str, file_sha: str, kind: str, n: int) -> np.ndarray | None:
        p = self.path(model_hash, file_sha, kind)
        if p is None or not p.is_file():
            return None
        try:
            want = self.checksum_path(p).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            self._warn(p, "have no checksum file beside them")
            return None
        try:
            if sha256_file(p) != want:
                self._warn(p, "fail their checksum (edited or damaged)")
                return None
            big = p.stat().st_size > MMAP_BYTES
            arr = np.load(p, allow_pickle=False, mmap_mode="r" if big else None)
        except (OSError, ValueError):
            self._warn(p, "cannot be read")
            return None
        if arr.ndim != 2 or arr.shape[0] != n or arr.dtype != np.float32:
            self._warn(p, f"have shape {arr.shape} {arr.dtype}, not [{n}, dim] float32")
            return None
        return arr

    def _commit(self, tmp: str, p: Path) -> None:
        """The written temporary .npy becomes ``p``, its checksum beside it (both atomic: a
        crash in between leaves a checksum that fails, so the file is recomputed)."""
        digest = sha256_file(Path(tmp))
        fd, tmp_sum = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".sha256")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(digest + "\n")
            os.replace(tmp, p)
            os.replace(tmp_sum, self.checksum_path(p))
        finally:
            Path(tmp_sum).unlink(missing_ok=True)

    def put(self, model_hash: str, file_sha: str, kind: str, arr: np.ndarray) -> None:
        p = self.path(model_hash, file_sha, kind)
        if p is None:
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
            self._commit(tmp, p)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def put_blocks(self, model_hash: str, file_sha: str, kind: str, n: int, dim: int,
                   blocks: Iterator[tuple[int, np.ndarray]]) -> np.ndarray:
        """Write [n, dim] float32 embeddings arriving as (start row, block) into the cache
        through a memory-mapped file; returns them memory-mapped from the cache."""
        p = self.path(model_hash, file_sha, kind)
        assert p is not None, "put_blocks needs a cache folder"
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".npy")
        os.close(fd)
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
            for start, block in blocks:
                out[start:start + len(block)] = block
            out.flush()
            del out
            self._commit(tmp, p)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return np.load(p, allow_pickle=False, mmap_mode="r")


@dataclass
class Encoder:
    """Encodes texts of one language file with one model, through the cache."""

    model: SentenceTransformer
    batch_size: int = 64
    cache: EmbeddingCache = field(default_factory=lambda: EmbeddingCache(None))
    show_progress: bool = False
    model_hash: str = ""
    block: int = ENCODE_BLOCK  # more texts than this (with a cache): encoded block by block to disk

    def __post_init__(self) -> None:
        if not self.model_hash and self.cache.root is not None:
            self.model_hash = weights_hash(self.model)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        emb = self.model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=self.show_progress,
                                convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(emb, dtype=np.float32)

    def encode(self, texts: Sequence[str], *, file_sha: str, kind: str, label: str = "") -> np.ndarray:
        """L2-normalized float32 embeddings [len(texts), dim] (memory-mapped when large)."""
        cached = self.cache.get(self.model_hash, file_sha, kind, len(texts)) if self.cache.root else None
        if cached is not None:
            self.cache.hits += 1
            self.cache.events.append(f"{label} {kind}: {len(texts)} cached")
            return cached
        self.cache.misses += 1
        if self.cache.root is not None and len(texts) > self.block:
            first = self._encode(texts[:self.block])

            def blocks() -> Iterator[tuple[int, np.ndarray]]:
                yield 0, first
                for start in range(self.block, len(texts), self.block):
                    yield start, self._encode(texts[start:start + self.block])

            emb = self.cache.put_blocks(self.model_hash, file_sha, kind, len(texts), first.shape[1], blocks())
        else:
            emb = self._encode(texts)
            self.cache.put(self.model_hash, file_sha, kind, emb)
        self.cache.events.append(f"{label} {kind}: {len(texts)} encoded")
        return emb
