"""`chimera swarm up`'s worker pool starts again a worker that dies, while it runs (real
`chimera worker` processes on a real Redis and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from chimera.adapters.redis_streams.config import SwarmConfig
from chimera.swarm.supervisor import WorkerPool
from support.databases import throwaway_database
from support.swarm_processes import swarm_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fresh_db(external_server: str) -> Iterator[str]:
    with throwaway_database(external_server, "chimera_pool") as url:
        yield url


def _heartbeat(client: redis.Redis, prefix: str, name: str) -> dict[str, Any] | None:
    raw: Any = client.get(f"{prefix}:worker:{name}")
    return json.loads(raw) if raw else None


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.mark.timeout(300)
def test_a_worker_killed_is_started_again(
    fresh_db: str, swarm: SwarmConfig, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(swarm.url)
    env = swarm_env(fresh_db, swarm.url, swarm.prefix, tmp_path)
    with WorkerPool(2, env, grace_s=2.0, check_every_s=0.5) as pool:
        first = _wait_for(lambda: _heartbeat(client, swarm.prefix, "local-1"), 120,
                          "local-1 never came up")  # fmt: skip
        _wait_for(lambda: _heartbeat(client, swarm.prefix, "local-2"), 120, "local-2 never came up")
        killed = pool.processes["local-1"].pid
        assert first["pid"] == killed
        os.kill(killed, signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            beat = _heartbeat(client, swarm.prefix, "local-1")
            return beat if beat and beat["pid"] != killed else None

        again = _wait_for(restarted, 120, "local-1 was not started again")
        assert pool.restarts == 1
        assert pool.processes["local-1"].pid == again["pid"]
        assert pool.processes["local-2"].poll() is None  # the other one was left alone
        workers = list(pool.processes.values())
    # Stopped together: SIGTERM, each exits on its own.
    assert all(p.returncode is not None for p in workers)
    assert pool.check() == [], "a stopped pool starts nothing again"
