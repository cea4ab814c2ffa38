"""A sentence-transformers model from a folder or a Hub id: the device it runs on
(`check_device`), loading it with a clear error (`load_model`), and the hash of its weights
(`weights_hash`, the key of the embedding cache and the QE model's identity). Used by
evaluation (mt_aug.evaluation) and the quality gate's learned signal (mt_aug.quality.qe)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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
