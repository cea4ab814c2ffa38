"""What the project's SQLite caches share (translations, quality verdicts): opening a file in
WAL mode with its schema, one-line errors naming the file, look-ups of many keys in chunks,
and closing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

# keys per `IN (...)` query: well under SQLite's variable limit
CHUNK = 900


class CacheError(RuntimeError):
    """A cache file that cannot be used (not a database, unreadable, unwritable, disk full);
    str() is one line naming the file, what failed and why."""


class SqliteStore:
    """A cache in one SQLite file. Subclasses set `what` (for messages), `table` (the table that
    makes a file this kind of cache) and `schema`, and may do more on open in `_opened()`
    (inside the same error handling).

    A file that is a SQLite database of something else (tables, none of them `table`) is
    refused before anything is written to it. `readonly=True` (what `cache stats` opens)
    opens it with SQLite's `mode=ro`: no schema, no migration, no journal mode is written."""

    what: ClassVar[str] = "cache"
    table: ClassVar[str] = ""
    schema: ClassVar[str] = ""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=60)
        except (OSError, sqlite3.Error) as exc:
            raise self.error(exc, f"cannot open the {self.what}") from None
        try:
            self._check_kind()
            if readonly:
                return
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(self.schema)
            self._opened()
        except CacheError:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            self._db.close()
            raise self.error(exc, f"cannot open the {self.what}") from None

    def _check_kind(self) -> None:
        """A database holding tables, none of them this cache's, is another program's: refused."""
        tables = {name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if self.table and self.table not in tables and (tables or self.readonly):
            what = f"a SQLite database without a `{self.table}` table" if tables else "an empty database"
            raise CacheError(f"{self.path}: not a {self.what} ({what}); nothing was changed in it; "
                             "point cache_dir elsewhere")

    def _opened(self) -> None:
        pass

    def error(self, exc: Exception, doing: str) -> CacheError:
        """`<file>: <doing> (<why>)`, or that the file is not this kind of cache."""
        if isinstance(exc, OSError):
            return CacheError(f"{self.path}: {doing} ({exc.strerror or exc})")
        text = str(exc)
        if "not a database" in text:
            return CacheError(f"{self.path}: not a {self.what} ({text}); move it away or point cache_dir elsewhere")
        if "disk is full" in text:
            return CacheError(f"{self.path}: {doing} (No space left on device)")
        return CacheError(f"{self.path}: {doing} ({text})")

    def rows_for(self, select: str, keys: Sequence[str]) -> Iterator[tuple]:  # type: ignore[type-arg]
        """The rows of `select` (a query ending in `WHERE key IN`) for every key, in chunks."""
        try:
            for i in range(0, len(keys), CHUNK):
                chunk = keys[i : i + CHUNK]
                yield from self._db.execute(f"{select} ({','.join('?' * len(chunk))})", chunk)
        except sqlite3.Error as exc:
            raise self.error(exc, f"cannot read the {self.what}") from None

    def write_many(self, sql: str, rows: Sequence[tuple]) -> None:  # type: ignore[type-arg]
        """`executemany` in one transaction; a failure (disk full, read-only) names the file."""
        try:
            with self._db:
                self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.error(exc, f"cannot write the {self.what}") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
