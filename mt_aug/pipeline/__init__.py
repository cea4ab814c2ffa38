"""The build pipeline: stages with a declared contract (`stage`), the executors that run them
(`executor`; Prefect's lives in flows/), and `build()`, the whole build as library code.

    from mt_aug.pipeline import build
    build_dir = build("configs/demo.yaml", output_dir="out/demo", cache_dir=".cache/mt-aug")
"""

from __future__ import annotations

from typing import Any


def build(*args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
    """See mt_aug.pipeline.builder.build (imported lazily: `import mt_aug.pipeline` stays light)."""
    from mt_aug.pipeline.builder import build as _build

    return _build(*args, **kwargs)
