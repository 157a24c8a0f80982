"""Swarm processes for trials: `chimera worker` and `chimera run` subprocesses sharing one
PostgreSQL database and one Redis key prefix, and what they left behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from support.environment import subprocess_env

CHIMERA = Path(sys.executable).parent / "chimera"


def swarm_env(
    database_url: str, redis_url: str, prefix: str, home: Path, **extra: str
) -> dict[str, str]:
    env = subprocess_env()
    env.update(
        CHIMERA_DATABASE_URL=database_url,
        CHIMERA_MEMORY_URL="memory",
        CHIMERA_HOME=str(home),
        CHIMERA_REDIS_URL=redis_url,
        CHIMERA_REDIS_PREFIX=prefix,
        CHIMERA_SWARM_VISIBILITY_S="2",
        CHIMERA_SWARM_MAX_DELIVERIES="50",
        CHIMERA_LEASE_SECONDS="2",
        CHIMERA_OFFLINE_LATENCY="0",
    )
    env.update(extra)
    return env


def topics_goal(count: int, tag: str) -> str:
    return "Posts on: " + ", ".join(f"{tag} idea {n}" for n in range(1, count + 1))


@dataclass
class Workers:
    """`chimera worker` processes, named w1, w2, ...; killed ones are replaced anew."""

    env: dict[str, str]
    latency: float
    live: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    stopped: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: int = 0

    def start(self, count: int = 1) -> list[str]:
        names = []
        for _ in range(count):
            self.started += 1
            name = f"w{self.started}"
            env = {**self.env, "CHIMERA_OFFLINE_LATENCY": str(self.latency)}
            # The log goes to a file: a pipe nobody reads until the end fills up, and a
            # worker blocked writing its log stops renewing the tasks it holds.
            with self.log(name).open("w") as log:
                self.live[name] = subprocess.Popen(
                    [str(CHIMERA), "worker", "--name", name, "--json", "--grace", "5"],
                    env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                )  # fmt: skip
            names.append(name)
        return names

    def log(self, name: str) -> Path:
        return Path(self.env["CHIMERA_HOME"]) / f"worker-{name}.log"

    def tail(self, name: str) -> str:
        return self.log(name).read_text()[-3000:]

    def kill(self, name: str) -> None:
        self.live.pop(name).kill()

    def stop_all(self) -> dict[str, dict[str, Any]]:
        """SIGTERM, then each worker's report ({"worker", "drafted"})."""
        for proc in self.live.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in self.live.items():
            out, _ = proc.communicate(timeout=60)
            if proc.returncode == 143 and not out:
                # Stopped while it was still starting (before it served anything).
                self.stopped[name] = {"worker": name, "drafted": 0, "starting": True}
                continue
            assert proc.returncode == 0, f"worker {name}: exit {proc.returncode}\n{self.tail(name)}"
            self.stopped[name] = json.loads(out)
        self.live = {}
        return self.stopped

    def wait_ready(
        self, client: redis.Redis, prefix: str, names: list[str], timeout: float = 120
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(client.exists(f"{prefix}:worker:{n}") for n in names):
                return
            for n in names:
                proc = self.live[n]
                assert proc.poll() is None, f"worker {n} died: {self.tail(n)}"
            time.sleep(0.2)
        raise AssertionError(f"workers {names} never came up")


def run_cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(CHIMERA), "run", *args, "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def finished(proc: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{err[-3000:]}"
    view: dict[str, Any] = json.loads(out)
    return view


def pending_by_consumer(client: redis.Redis, prefix: str) -> dict[str, int]:
    try:
        summary: Any = client.xpending(f"{prefix}:tasks", "workers")
    except redis.ResponseError:
        return {}
    return {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]: int(c["pending"])
            for c in summary["consumers"] if int(c["pending"])}  # fmt: skip


def results_of(client: redis.Redis, prefix: str) -> dict[str, int]:
    """job id -> how many outcomes its result stream holds."""
    counts = {}
    for key in client.scan_iter(match=f"{prefix}:result:*", count=500):
        name = key.decode() if isinstance(key, bytes) else key
        counts[name.rsplit(":", 1)[1]] = int(client.xlen(key))
    return counts
