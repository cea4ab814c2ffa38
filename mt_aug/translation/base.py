"""The one interface every translation backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class BackendError(RuntimeError):
    """A backend that cannot start (model missing, language unknown): raised before any work."""


@dataclass(frozen=True, slots=True)
class Translation:
    text: str
    hit_length_limit: bool = False


class Backend(Protocol):
    name: str
    model_id: str  # model id plus revision or content hash: part of the cache key

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        """Translate segments in order; one output per input."""
        ...

    def close(self) -> None: ...
