"""Loading a sentence-transformers model, hashing its weights, and an embedding cache.

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

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mt_aug.packing.shards import sha256_file

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path(".cache/mt-aug/embeddings")
ENCODE_BLOCK = 65536  # texts encoded at once into a memory-mapped cache file
MMAP_BYTES = 256 << 20  # cached files larger than this are memory-mapped, not read


class ModelError(ValueError):
    """The model cannot be loaded or run as asked (message names the model or device)."""


def check_device(device: str | None) -> str:
    """'cpu', 'cuda' or 'cuda:N' (or None: cuda when available, else cpu); cuda must exist."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            build = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no GPU visible"
            raise ModelError(f"--device {device}: torch {torch.__version__} has no usable CUDA here ({build})")
        return device
    raise ModelError(f"--device {device!r}: must be cpu or cuda")


def load_model(model: str, device: str | None = None) -> SentenceTransformer:
    """A sentence-transformers model from a folder or a Hub id; a clear error otherwise."""
    device = check_device(device)
    p = Path(model)
    if p.exists():
        if not p.is_dir():
            raise ModelError(f"{model}: not a sentence-transformers model (a file, not a model folder)")
        if not (p / "modules.json").is_file() and not (p / "config.json").is_file():
            raise ModelError(f"{model}: not a sentence-transformers model (no modules.json or config.json)")
    import transformers
    from sentence_transformers import SentenceTransformer

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        return SentenceTransformer(model, device=device)
    except Exception as exc:  # noqa: BLE001 - any load failure is the user's model argument
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{model}: cannot load as a sentence-transformers model: {first}") from None
    finally:
        transformers.logging.set_verbosity(verbosity)


def _tokenizer_identity(tokenizer: object, backend: object) -> str:
    """Vocabulary, normalizer and model of a fast tokenizer, without its padding/truncation
    state (set by each encode call, not part of the model)."""
    if backend is None:
        return repr(tokenizer)
    doc = json.loads(backend.to_str())  # type: ignore[attr-defined]
    doc.pop("truncation", None)
    doc.pop("padding", None)
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def weights_hash(model: SentenceTransformer) -> str:
    """sha256 over the model's module configuration, max_seq_length, tokenizer and every tensor
    of its state dict (name, dtype, shape, bytes), streamed: the same model gives the same hash
    wherever it lives, and changed weights a new one."""
    import torch

    h = hashlib.sha256()
    h.update(repr(model).encode())  # modules, pooling mode, normalization
    h.update(f"max_seq_length={getattr(model, 'max_seq_length', None)}\n".encode())
    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    h.update(_tokenizer_identity(tokenizer, backend).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        flat = t.contiguous().reshape(-1)
        # Bytes of any dtype (bf16 included) through a uint8 view, a few MB at a time.
        step = max(1, (8 << 20) // max(1, flat.element_size()))
        for i in range(0, flat.numel(), step):
            part = flat[i:i + step].cpu().view(torch.uint8).numpy()
            h.update(memoryview(part))
    return h.hexdigest()


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
