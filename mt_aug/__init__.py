"""mt-aug: English QA datasets -> decontaminated, multilingual, hybrid-batched retriever training data."""

from __future__ import annotations

__version__ = "0.1.0"


def read_batches(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See mt_aug.training.consume.read_batches (imported lazily: `import mt_aug` stays light)."""
    from mt_aug.training.consume import read_batches as _read_batches

    return _read_batches(*args, **kwargs)
