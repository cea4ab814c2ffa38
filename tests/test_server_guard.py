"""The temporary Prefect server does not outlive a killed CLI (issue 14): a watchdog stops a
watched process when its starter dies, kill -9 included (flows/server_guard.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import ROOT

STARTER = """
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from flows.server_guard import watch
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "mt-aug-guard-test"])
watch(child.pid, "mt-aug-guard-test")
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_watched_server_dies_with_its_killed_starter() -> None:
    starter = subprocess.Popen([sys.executable, "-c", STARTER, str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None
        server = int(starter.stdout.readline())
        assert _alive(server)
        os.kill(starter.pid, signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + 10
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(server), "the watched process outlived its killed starter"
    finally:
        starter.kill()

