"""Source readers: each turns one configured source into QAPairs, counting every record."""

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


def get_reader(fmt: str, hub: bool = False) -> Reader:
    """The reader of a format; `hub`: the source names a Hugging Face dataset, not a file."""
    from mt_aug.readers import dpr, mapped, msmarco, squad

    if hub and fmt == "squad":
        return squad.read_hf
    if hub and fmt in ("jsonl", "csv", "hf"):
        return mapped.read_hf
    readers: dict[str, Reader] = {
        "squad": squad.read,
        "dpr": dpr.read,
        "msmarco": msmarco.read,
        "jsonl": mapped.read_jsonl,
        "csv": mapped.read_csv,
        "hf": mapped.read_hf,
    }
    try:
        return readers[fmt]
    except KeyError:
        raise SourceError(f"no reader for format {fmt!r} (known: {', '.join(sorted(readers))})") from None
