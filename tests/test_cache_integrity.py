"""The translation cache checks what it serves (issue 14, item 4): an output edited in place is
a miss (translated again, counted, warned); an older cache without checksums is checksummed
once on open, not re-translated; a file that is not a database is a one-line error."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from mt_aug.config import ModelSpec
from mt_aug.translation.base import Translation
from mt_aug.translation.cache import CacheError, TranslationCache
from mt_aug.translation.engine import translate_unique

SEGS = ["The river is long.", "It rains in spring."]


class Upper:
    """A backend that upper-cases, counting what it was asked."""

    name = "upper"
    model_id = "upper"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        self.seen += list(segments)
        return [Translation(s.upper()) for s in segments]

    def close(self) -> None:
        pass


def _run(path: Path) -> tuple[dict[str, Translation], object, Upper]:
    backend = Upper()
    with TranslationCache(path) as cache:
        out, stats = translate_unique(SEGS, spec=ModelSpec(), src="en", tgt="pt", cache=cache,
                                      backend_factory=lambda: backend)
    return out, stats, backend


def test_an_output_edited_in_place_is_translated_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.sqlite"
    _run(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE translations SET output = 'EDITED' WHERE source_text = ?", (SEGS[0],))
    with caplog.at_level(logging.WARNING, logger="mt_aug.translation.cache"):
        out, stats, backend = _run(path)
    assert out[SEGS[0]].text == SEGS[0].upper()  # not "EDITED"
    assert backend.seen == [SEGS[0]]
    assert (stats.cached, stats.translated, stats.cache_mismatches) == (1, 1, 1)  # type: ignore[attr-defined]
    assert "1 cached translation(s) of en->pt fail their checksum" in caplog.text
    _, stats, backend = _run(path)  # repaired: all hits now
    assert backend.seen == [] and stats.cache_mismatches == 0  # type: ignore[attr-defined]


def test_an_older_cache_is_checksummed_once_not_retranslated(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _run(path)
    with sqlite3.connect(path) as db:  # the cache as written before checksums existed
        db.execute("ALTER TABLE translations DROP COLUMN checksum")
    with TranslationCache(path) as cache:
        assert cache.migrated == 2
    with TranslationCache(path) as cache:
        assert cache.migrated == 0
    _, stats, backend = _run(path)
    assert backend.seen == [] and stats.cached == 2  # type: ignore[attr-defined]


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite at all, just text\n" * 100)
    with pytest.raises(CacheError) as err:
        TranslationCache(path)
    assert str(err.value).startswith(f"{path}: not a translation cache (file is not a database)")
    assert "\n" not in str(err.value)


def test_a_full_disk_while_writing_the_cache_is_a_cache_error(tmp_path: Path) -> None:
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        class FullDisk:
            def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
                return getattr(cache_db, name)

            def executemany(self, *a: object) -> None:
                raise sqlite3.OperationalError("database or disk is full")

            def __enter__(self) -> object:
                return self

            def __exit__(self, *exc: object) -> None:
                pass

        cache_db = cache._db
        cache._db = FullDisk()  # type: ignore[assignment]
        with pytest.raises(CacheError, match=r"c.sqlite: cannot write the translation cache \(No space left on device\)"):
            cache.put_many(__import__("mt_aug.translation.engine", fromlist=["x"]).cache_scope(
                ModelSpec(), "en", "pt"), [("a", Translation("b"))])
        cache._db = cache_db


def test_migration_runs_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    _run(path)
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE translations DROP COLUMN checksum")
    with TranslationCache(path) as a:
        pass
    with sqlite3.connect(path) as db:  # back to a cache from before checksums (its user_version 0)
        db.execute("UPDATE translations SET checksum = NULL")
        db.execute("PRAGMA user_version = 0")
    cache = TranslationCache.__new__(TranslationCache)
    cache.path, cache.mismatches, cache.migrated = path, 0, 0
    cache._db = sqlite3.connect(path)
    cache._migrate(chunk=1)  # one row per chunk
    assert cache.migrated == 2 and a.migrated == 2
    cache.close()
    _, stats, backend = _run(path)
    assert backend.seen == [] and stats.cached == 2  # type: ignore[attr-defined]


def test_a_checksum_cleared_after_migration_is_a_mismatch_not_an_old_row(tmp_path: Path) -> None:
    """Once every row has its checksum (the file says so), opening scans nothing, and an output
    edited with its checksum set to NULL is translated again, not taken for a pre-checksum row."""
    path = tmp_path / "c.sqlite"
    _run(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        db.execute("UPDATE translations SET output = 'EDITED', checksum = NULL WHERE source_text = ?", (SEGS[0],))
    out, stats, backend = _run(path)
    assert backend.seen == [SEGS[0]] and "EDITED" not in out[SEGS[0]].text
