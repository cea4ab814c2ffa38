"""Persistent translation cache (SQLite), written as results arrive.

Key: (backend, model id with revision or content hash, source, target, decoding params,
segment hash). One writer, the flow; workers only translate. A crash loses at most the
batch in flight: every batch is committed before the next is sent to the model.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mt_aug.translation.base import Translation

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    src TEXT NOT NULL,
    tgt TEXT NOT NULL,
    source_text TEXT NOT NULL,
    output TEXT NOT NULL,
    hit_length_limit INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS translations_model ON translations (backend, model, src, tgt);
"""


@dataclass(frozen=True, slots=True)
class CacheScope:
    """Everything besides the segment that decides a translation."""

    backend: str
    model: str
    src: str
    tgt: str
    decoding: str  # canonical JSON of decoding parameters

    @classmethod
    def of(cls, backend: str, model: str, src: str, tgt: str, decoding: dict[str, Any]) -> CacheScope:
        return cls(backend, model, src, tgt, json.dumps(decoding, sort_keys=True))

    def key(self, segment: str) -> str:
        seg = hashlib.sha256(segment.encode("utf-8")).hexdigest()
        blob = "\x1f".join((self.backend, self.model, self.src, self.tgt, self.decoding, seg))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class TranslationCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def get_many(self, scope: CacheScope, segments: Sequence[str]) -> dict[str, Translation]:
        keys = {scope.key(s): s for s in segments}
        found: dict[str, Translation] = {}
        items = list(keys)
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            q = f"SELECT key, output, hit_length_limit FROM translations WHERE key IN ({','.join('?' * len(chunk))})"
            for key, output, hit in self._db.execute(q, chunk):
                found[keys[key]] = Translation(output, bool(hit))
        return found

    def put_many(self, scope: CacheScope, results: Iterable[tuple[str, Translation]]) -> None:
        now = time.time()
        rows = [
            (scope.key(s), scope.backend, scope.model, scope.src, scope.tgt, s, t.text, int(t.hit_length_limit), now)
            for s, t in results
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO translations VALUES (?,?,?,?,?,?,?,?,?)", rows)

    def stats(self) -> list[dict[str, Any]]:
        q = (
            "SELECT backend, model, src, tgt, COUNT(*), SUM(LENGTH(output)), MIN(created), MAX(created) "
            "FROM translations GROUP BY backend, model, src, tgt ORDER BY backend, model, src, tgt"
        )
        cols = ["backend", "model", "src", "tgt", "entries", "output_chars", "first", "last"]
        return [dict(zip(cols, row, strict=True)) for row in self._db.execute(q)]

    def prune(self, *, keep_models: set[str] | None = None, older_than_s: float | None = None) -> int:
        """Delete entries of models not in `keep_models` and/or older than a given age."""
        clauses, args = [], []
        if keep_models is not None:
            clauses.append(f"model NOT IN ({','.join('?' * len(keep_models))})" if keep_models else "1")
            args.extend(sorted(keep_models))
        if older_than_s is not None:
            clauses.append("created < ?")
            args.append(time.time() - older_than_s)
        if not clauses:
            return 0
        with self._db:
            cur = self._db.execute(f"DELETE FROM translations WHERE {' AND '.join(clauses)}", args)
        self._db.execute("VACUUM")
        return cur.rowcount

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
