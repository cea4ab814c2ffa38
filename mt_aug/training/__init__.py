"""The consumer API: what a trainer calls to read a build.

- `train_dataset(build_dir)`: every row, memory-mapped (`datasets.Dataset`);
- `HybridBatchSampler(build_dir, mono_ratio=None, seed=None)`: one packed batch per step;
- `read_batches(build_dir)`: whole batches as Arrow record batches in schedule order.

Each checks the build against its manifest first (`verify="full"` by default, `"fast"` skips
the shards' sha256; see `mt_aug.training.checks`) and raises `BuildLayoutError` naming the file.

`HybridBatchSampler` (torch) and `train_dataset` (datasets) are imported when first asked for,
so `from mt_aug.training import read_batches` loads neither."""

from __future__ import annotations

from typing import Any

from mt_aug.training.consume import read_batches
from mt_aug.training.layout import BuildLayoutError

__all__ = ["BuildLayoutError", "HybridBatchSampler", "read_batches", "train_dataset"]


def __getattr__(name: str) -> Any:
    if name == "HybridBatchSampler":
        from mt_aug.training.sampler import HybridBatchSampler

        return HybridBatchSampler
    if name == "train_dataset":
        from mt_aug.training.dataset import train_dataset

        return train_dataset
    raise AttributeError(f"module 'mt_aug.training' has no attribute {name!r}")
