"""Quality verdicts cached beside the translation cache (verdicts.sqlite), keyed by the gate's
version and settings and by the source and output texts, so a rebuild does not judge again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mt_aug.quality.verdict import Verdict
from mt_aug.sqlite_store import SqliteStore

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


class VerdictCache(SqliteStore):
    FILE = "verdicts.sqlite"
    what = "verdict cache"
    table = "verdicts"
    schema = _SCHEMA

    @classmethod
    def beside(cls, translation_cache_path: str | Path) -> VerdictCache:
        """The verdict cache in the folder of a translation cache file."""
        return cls(Path(translation_cache_path).parent / cls.FILE)

    def get_many(self, settings: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Verdict]:
        keys = {verdict_key(settings, s, o): (s, o) for s, o in pairs}
        return {keys[key]: Verdict.from_json(blob)
                for key, blob in self.rows_for("SELECT key, verdict FROM verdicts WHERE key IN", list(keys))}

    def put_many(self, settings: str, items: Iterable[tuple[str, str, Verdict]]) -> None:
        now = time.time()
        rows = [(verdict_key(settings, s, o), settings, v.to_json(), now) for s, o, v in items]
        self.write_many("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?)", rows)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

