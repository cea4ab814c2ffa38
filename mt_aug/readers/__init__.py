"""Source readers: each turns one configured source into QAPairs, counting every record
(`mt_aug.readers.collect.get_reader` finds the reader of a format)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mt_aug.accounting import Ledger
from mt_aug.config import SourceConfig
from mt_aug.schema import QAPair


class SourceError(ValueError):
    """A source that cannot be read: the message names the file and the record."""


class Reader(Protocol):
    def __call__(self, source: SourceConfig, ledger: Ledger) -> Iterator[QAPair]: ...
