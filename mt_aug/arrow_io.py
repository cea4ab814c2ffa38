"""Reading an Arrow IPC stream file (a shard, the schedule) memory-mapped: the table's buffers
point into the OS page cache, not the heap."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa


def read_stream(path: str | Path) -> pa.Table:
    with pa.memory_map(str(path)) as src:
        return pa.ipc.open_stream(src).read_all()
