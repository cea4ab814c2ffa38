"""No orphaned Prefect server: the temporary API server dies with the process that started it.

Prefect's ephemeral API (`SubprocessASGIServer`) is a `python -m uvicorn` child stopped by an
atexit hook, which a `kill -9` of the CLI never runs: the server stayed up (225 MB). PR_SET_PDEATHSIG
would fire when the *thread* that started it exits, and Prefect may start it from any thread;
so instead each server gets a watchdog process that holds the read end of a pipe whose only
write end is this process's. When this process dies, however it dies, the kernel closes that
end, the watchdog reads EOF and terminates the server (SIGTERM, then SIGKILL after 5 s), but
only if that pid is still the server (its command line still names it).

    from flows import server_guard
    server_guard.install()   # once, before the first flow run or client (idempotent)
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

# Runs in the watchdog: wait for EOF on stdin (the parent died or exited), then stop the pid
# if its command line still contains the marker.
_WATCHDOG = r"""
import os, signal, sys, time
pid, marker = int(sys.argv[1]), sys.argv[2].encode()
try:
    while sys.stdin.buffer.read(65536):
        pass
except OSError:
    pass
def alive():
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker in f.read()
    except OSError:
        return False
if alive():
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        time.sleep(0.1)
        if not alive():
            break
    else:
        os.kill(pid, signal.SIGKILL)
"""

_installed = False
_watchdogs: list[subprocess.Popen[bytes]] = []
_pipes: list[int] = []  # write ends, held open for this process's lifetime


def watch(pid: int, marker: str) -> subprocess.Popen[bytes]:
    """Start a watchdog that stops process `pid` when this process ends (any way, kill -9
    included), if its command line still contains `marker`."""
    r, w = os.pipe()  # both non-inheritable; the watchdog gets r as its stdin only
    try:
        dog = subprocess.Popen([sys.executable, "-I", "-S", "-c", _WATCHDOG, str(pid), marker], stdin=r,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(r)
    _pipes.append(w)
    _watchdogs.append(dog)
    return dog


def install() -> None:
    """Give every temporary Prefect API server of this process a watchdog (idempotent)."""
    global _installed
    if _installed or os.environ.get("PREFECT_API_URL"):  # a real server: nothing temporary to guard
        return
    from prefect.server.api import server as prefect_server

    original = prefect_server.SubprocessASGIServer._run_uvicorn_command

    def run_uvicorn_guarded(self: Any) -> subprocess.Popen[Any]:
        proc = original(self)
        watch(proc.pid, "prefect.server.api.server:create_app")
        return proc

    prefect_server.SubprocessASGIServer._run_uvicorn_command = run_uvicorn_guarded  # type: ignore[method-assign]
    _installed = True
