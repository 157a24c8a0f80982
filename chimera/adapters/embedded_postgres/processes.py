"""The server's processes: which pids are alive, the handle list's dead pids, and a
postmaster's shutdown."""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path

import psutil

from chimera.adapters.embedded_postgres.errors import EmbeddedPostgresError

log = logging.getLogger("chimera.postgres")


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def prune_handles(path: Path) -> list[int]:
    """Drop dead pids from the library's handle list; return the dropped ones.

    Call under the inter-process lock. A dead pid (a SIGKILLed owner) would otherwise stay
    forever, and the server, which only stops when its last listed pid exits, never would.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    try:
        pids = [int(pid) for pid in json.loads(text)]
    except (ValueError, TypeError):
        # The library writes the file in place; a kill mid-write leaves it truncated, and
        # the library would then fail on every start. Live handles re-register on restart.
        log.warning("Resetting unreadable handle list %s: %r", path, text[:80])
        path.write_text("[]")
        return []
    dead = [pid for pid in pids if not pid_alive(pid)]
    if dead:
        path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead


def shutdown(proc: psutil.Process) -> None:
    """Stop a postmaster: fast shutdown, then immediate, then SIGKILL.

    Signalled directly rather than through pg_ctl, which refuses to run as root: it would
    have to run as the server's system user, who may have lost access to the folder
    meanwhile. psutil checks the process's start time, so a reused pid is never signalled.
    """
    pid = proc.pid
    for sig, patience in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            proc.send_signal(sig)
        except psutil.NoSuchProcess:
            return
        if wait_gone(proc, patience):
            return
        log.warning("PostgreSQL (pid %s) ignored %s; escalating", pid, signal.Signals(sig).name)
    raise EmbeddedPostgresError(f"PostgreSQL (pid {pid}) would not stop, even after SIGKILL.")


def wait_gone(proc: psutil.Process, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            # A zombie has exited; only its parent (init) has yet to reap it.
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
