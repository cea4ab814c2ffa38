"""The build pipeline: stages with a declared contract (`stage`), the executors that run them
(`executor`; Prefect's lives in flows/), and `build()`, the whole build as library code.

    from mt_aug.pipeline import build
    build_dir = build("configs/demo.yaml", output_dir="out/demo", cache_dir=".cache/mt-aug")
"""

from __future__ import annotations

from mt_aug.pipeline.builder import build

__all__ = ["build"]
