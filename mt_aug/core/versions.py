"""Versions of the libraries whose output a cache key depends on (stage results, verdicts)."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata

from mt_aug.schema import SCHEMA_VERSION


@lru_cache(maxsize=None)
def library_version(dist: str) -> str:
    if dist == "mt-aug-schema":
        return str(SCHEMA_VERSION)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"
