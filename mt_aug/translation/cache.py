"""Persistent translation cache (SQLite), written as results arrive.

Key: (backend, model id with revision or content hash, source, target, decoding params,
segment hash). One writer, the flow; workers only translate. A crash loses at most the
batch in flight: every batch is committed before the next is sent to the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mt_aug.sqlite_store import CacheError, SqliteStore
from mt_aug.translation.base import Translation

__all__ = ["CacheError", "CacheScope", "TranslationCache", "row_checksum"]

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
    created REAL NOT NULL,
    checksum TEXT
);
CREATE INDEX IF NOT EXISTS translations_model ON translations (backend, model, src, tgt);
"""
_COLUMNS = "key, backend, model, src, tgt, source_text, output, hit_length_limit, created, checksum"

log = logging.getLogger(__name__)


CHECKSUMMED = 1  # PRAGMA user_version of a cache whose every row has its checksum


def row_checksum(key: str, output: str, hit_length_limit: bool | int) -> str:
    """What a cached translation must still hash to: its key, output and length-limit flag
    (an output edited in place, or moved to another key, no longer matches)."""
    return hashlib.sha256(f"{key}\x1f{output}\x1f{int(bool(hit_length_limit))}".encode()).hexdigest()


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


class TranslationCache(SqliteStore):
    """The translation cache. Every row carries a checksum of its key and output: a row whose
    output was edited in place is a miss (re-translated, counted in `mismatches`, warned)."""

    FILE = "translations.sqlite"
    what = "translation cache"
    table = "translations"
    schema = _SCHEMA

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.mismatches = 0  # rows whose checksum failed, since open
        self.migrated = 0  # rows of an older cache checksummed on open
        super().__init__(path, readonly=readonly)

    def _opened(self) -> None:
        self._migrate()

    def _migrate(self, chunk: int = 50_000) -> None:
        """A cache written before checksums: add the column and checksum every row once (in
        chunks, so a cache of millions of rows is never held in memory). Done once: the file's
        user_version then says every row has its checksum, so opening a large cache scans
        nothing, and a checksum cleared later is a mismatch, not an old row."""
        cols = [r[1] for r in self._db.execute("PRAGMA table_info(translations)")]
        if "checksum" in cols and self._db.execute("PRAGMA user_version").fetchone()[0] >= CHECKSUMMED:
            return
        if "checksum" not in cols:
            try:
                with self._db:
                    self._db.execute("ALTER TABLE translations ADD COLUMN checksum TEXT")
            except sqlite3.OperationalError as exc:  # another process migrated it a moment ago
                if "duplicate column" not in str(exc):
                    raise
        last = -1
        while True:
            rows = self._db.execute(
                "SELECT rowid, key, output, hit_length_limit FROM translations WHERE rowid > ? AND checksum IS NULL "
                "ORDER BY rowid LIMIT ?", (last, chunk)).fetchall()
            if not rows:
                break
            with self._db:
                self._db.executemany("UPDATE translations SET checksum = ? WHERE rowid = ?",
                                     [(row_checksum(k, o, h), rid) for rid, k, o, h in rows])
            self.migrated += len(rows)
            last = rows[-1][0]
        self._db.execute(f"PRAGMA user_version = {CHECKSUMMED}")
        if self.migrated:
            log.info("%s: checksummed %d cached translations written before checksums", self.path, self.migrated)

    def get_many(self, scope: CacheScope, segments: Sequence[str]) -> dict[str, Translation]:
        keys = {scope.key(s): s for s in segments}
        found: dict[str, Translation] = {}
        bad = 0
        q = "SELECT key, output, hit_length_limit, checksum FROM translations WHERE key IN"
        for key, output, hit, checksum in self.rows_for(q, list(keys)):
            if checksum != row_checksum(key, output, hit):
                bad += 1
                continue
            found[keys[key]] = Translation(output, bool(hit))
        if bad:
            self.mismatches += bad
            log.warning("%s: %d cached translation(s) of %s->%s fail their checksum (edited in place?): "
                        "translated again", self.path, bad, scope.src, scope.tgt)
        return found

    def present(self, scope: CacheScope, segments: Sequence[str]) -> set[str]:
        """The segments that have a row in the cache (key look-ups only: no outputs read, no
        checksums verified; what `plan` counts, cheaply)."""
        keys = {scope.key(s): s for s in segments}
        return {keys[k] for (k,) in self.rows_for("SELECT key FROM translations WHERE key IN", list(keys))}

    def put_many(self, scope: CacheScope, results: Iterable[tuple[str, Translation]]) -> None:
        now = time.time()
        rows = []
        for s, t in results:
            key = scope.key(s)
            rows.append((key, scope.backend, scope.model, scope.src, scope.tgt, s, t.text, int(t.hit_length_limit), now,
                         row_checksum(key, t.text, t.hit_length_limit)))
        self.write_many(f"INSERT OR REPLACE INTO translations ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def stats(self) -> list[dict[str, Any]]:
        q = (
            "SELECT backend, model, src, tgt, COUNT(*), SUM(LENGTH(output)), MIN(created), MAX(created) "
            "FROM translations GROUP BY backend, model, src, tgt ORDER BY backend, model, src, tgt"
        )
        cols = ["backend", "model", "src", "tgt", "entries", "output_chars", "first", "last"]
        return [dict(zip(cols, row, strict=True)) for row in self._db.execute(q)]

    @staticmethod
    def _prune_where(keep_models: set[str] | None, older_than_s: float | None) -> tuple[str, list[Any]] | None:
        clauses: list[str] = []
        args: list[Any] = []
        if keep_models is not None:
            clauses.append(f"model NOT IN ({','.join('?' * len(keep_models))})" if keep_models else "1")
            args.extend(sorted(keep_models))
        if older_than_s is not None:
            clauses.append("created < ?")
            args.append(time.time() - older_than_s)
        return (" AND ".join(clauses), args) if clauses else None

    def prunable(self, *, keep_models: set[str] | None = None,
                 older_than_s: float | None = None) -> list[dict[str, Any]]:
        """What `prune` with the same arguments would delete, per backend, model and language pair."""
        where = self._prune_where(keep_models, older_than_s)
        if where is None:
            return []
        q = (f"SELECT backend, model, src, tgt, COUNT(*) FROM translations WHERE {where[0]} "
             "GROUP BY backend, model, src, tgt ORDER BY backend, model, src, tgt")
        cols = ["backend", "model", "src", "tgt", "entries"]
        return [dict(zip(cols, row, strict=True)) for row in self._db.execute(q, where[1])]

    def prune(self, *, keep_models: set[str] | None = None, older_than_s: float | None = None) -> int:
        """Delete entries of models not in `keep_models` and/or older than a given age."""
        where = self._prune_where(keep_models, older_than_s)
        if where is None:
            return 0
        try:
            with self._db:
                cur = self._db.execute(f"DELETE FROM translations WHERE {where[0]}", where[1])
            self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise self.error(exc, "cannot prune the translation cache") from None
        return cur.rowcount

