"""The build lock: SIGTERM to a process that holds it is a clean stop (exit 143, the lock file
and the staging folder removed), and the previous SIGTERM handler is back after release."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT
from mt_aug.release.lock import LOCK_NAME, SIGTERM_EXIT, BuildLock

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mt_aug.release.lock import BuildLock
    from mt_aug.release.publish import staged

    out = Path(sys.argv[1])
    with BuildLock(out, "b1"), staged(out, "b1") as d:
        (d / "part.arrow").write_bytes(b"half")
        print("locked", flush=True)
        time.sleep(60)
""")


def test_sigterm_while_locked_is_a_clean_exit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "locked", p.stderr.read() if p.stderr else ""
        assert (out / LOCK_NAME).is_file() and list((out / "builds").iterdir())
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == SIGTERM_EXIT == 143
    assert not (out / LOCK_NAME).exists()  # the record removed, not left for the next build to take over
    assert list((out / "builds").iterdir()) == []  # every context manager ran (the staging folder removed)


def test_the_previous_sigterm_handler_is_restored(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    before = signal.signal(signal.SIGTERM, mine)
    try:
        with BuildLock(tmp_path / "out", "b1"):
            assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGTERM) is mine
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        lock = BuildLock(tmp_path / "out", "b2").acquire()
        lock.release()
        lock.release()  # twice: harmless
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
