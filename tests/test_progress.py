"""Progress for a person (issue 14): rich bars on a terminal, plain periodic lines in a log,
nothing with --quiet; the translation engine's callback drives it."""

from __future__ import annotations

import io
import logging

import pytest

from mt_aug import progress


@pytest.fixture(autouse=True)
def _reset() -> None:
    yield
    progress.configure()


def test_plain_lines_are_periodic_and_final(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    progress.configure(tty=False, every_s=10)
    with caplog.at_level(logging.INFO, logger="mt_aug.progress"):
        with progress.task("translate en->pt", total=1000, unit="segments") as t:
            for _ in range(10):
                now[0] += 3
                t.advance(50)  # a line at most every 10 s: at 12 s and 24 s
            t.callback(1000, 1000, 0.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "translate en->pt: 200/1000 segments (20%), 16.7 segments/s, ETA 0:48",
        "translate en->pt: 400/1000 segments (40%), 16.7 segments/s, ETA 0:36",
        "translate en->pt: 1000/1000 segments (100%) in 30.0s (33.3 segments/s)",
    ]


def test_bars_on_a_terminal_and_nothing_when_quiet(caplog: pytest.LogCaptureFixture) -> None:
    from rich.console import Console

    buf = io.StringIO()
    progress.configure(tty=True, console=Console(file=buf, force_terminal=True, width=100))
    with progress.task("read squad", total=None, unit="records") as t:
        t.advance(7)
        with progress.task("decontaminate", total=4, unit="pairs") as inner:
            inner.update(completed=4)
    out = buf.getvalue()
    assert "read squad" in out and "decontaminate" in out and "4/4" in out
    assert progress._live["progress"] is None  # stopped with its last task
    progress.configure(quiet=True, tty=True, console=Console(file=(quiet := io.StringIO()), force_terminal=True))
    with caplog.at_level(logging.INFO, logger="mt_aug.progress"):
        with progress.task("x", total=3) as t:
            t.advance(3)
    assert quiet.getvalue() == "" and not caplog.records


def test_reading_a_source_shows_a_bar(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from rich.console import Console

    from mt_aug.config import BuildConfig
    from mt_aug.readers.collect import collect

    f = tmp_path / "qa.jsonl"
    f.write_text("".join(json.dumps({"q": f"Question {i}?", "p": f"Passage {i}."}) + "\n" for i in range(5)),
                 encoding="utf-8")
    cfg = BuildConfig.model_validate({"name": "p", "output_dir": str(tmp_path / "out"), "languages": ["en", "pt"],
                                      "sources": [{"name": "mine", "format": "jsonl", "path": str(f),
                                                   "fields": {"question": "q", "passage": "p"}}]})
    buf = io.StringIO()
    progress.configure(tty=True, console=Console(file=buf, force_terminal=True, width=100))
    assert collect(cfg).pairs.num_rows == 5
    assert "read mine" in buf.getvalue() and "5/5" in buf.getvalue()
