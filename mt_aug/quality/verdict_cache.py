"""Quality verdicts cached beside the translation cache (verdicts.sqlite), keyed by the gate's
version and settings and by the source and output texts, so a rebuild does not judge again."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mt_aug.quality.verdict import Verdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def verdict_key(settings: str, source: str, output: str) -> str:
    blob = "\x1f".join((settings, source, output))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class VerdictCache:
    FILE = "verdicts.sqlite"

    def __init__(self, path: str | Path) -> None:
        from mt_aug.translation.cache import CacheError

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            what = "not a verdict cache" if "not a database" in str(exc) else "cannot open the verdict cache"
            raise CacheError(f"{self.path}: {what} ({exc}); move it away or point cache_dir elsewhere") from None

    @classmethod
    def beside(cls, translation_cache_path: str | Path) -> VerdictCache:
        """The verdict cache in the folder of a translation cache file."""
        return cls(Path(translation_cache_path).parent / cls.FILE)

    def get_many(self, settings: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
        keys = {verdict_key(settings, s, o): (s, o) for s, o in pairs}
        found: dict[tuple[str, str], Verdict] = {}
        items = list(keys)
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            q = f"SELECT key, verdict FROM verdicts WHERE key IN ({','.join('?' * len(chunk))})"
            for key, blob in self._db.execute(q, chunk):
                found[keys[key]] = Verdict.from_json(blob)
        return found

    def put_many(self, settings: str, items: Iterable[tuple[str, str, Verdict]]) -> None:
        now = time.time()
        rows = [(verdict_key(settings, s, o), settings, v.to_json(), now) for s, o, v in items]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?)", rows)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
