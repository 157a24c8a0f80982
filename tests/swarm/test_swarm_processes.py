"""Swarm fault trials with real processes: `chimera worker` subprocesses SIGKILLed mid-task
again and again, a graph process SIGKILLed mid-run and continued with `chimera run
--thread`, and a Redis restarted mid-run (with its data, and without). Every trial checks
that every task completed (an outcome each, exactly one), that no worker drafted a job
twice where that can be known, and the thread invariants (support/invariants.py: no task
lost, nothing published twice)."""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from chimera.adapters.embedded_postgres.server import ensure_database
from chimera.adapters.redis_streams.config import SwarmConfig
from support.invariants import check_thread
from support.runner_worker import answer, fork_call
from support.swarm_processes import (
    Workers,
    pending_by_consumer,
    results_of,
    swarm_env,
    topics_goal,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KILL_GOALS = int(os.environ.get("SWARM_KILL_GOALS", "5"))
TASKS_PER_GOAL = 11  # the plan's limit is 12
MIN_KILLS = 5


@pytest.fixture
def fresh_db(external_server: str) -> Iterator[str]:
    name = f"chimera_swarm_{secrets.token_hex(4)}"
    url = ensure_database(external_server, name)
    yield url
    with psycopg.connect(external_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_all_done(
    views: list[dict[str, Any]], db_url: str, client: redis.Redis, prefix: str, tasks: int
) -> None:
    """Every task of every thread drafted once, judged, and published or waiting; none
    published twice; one outcome per job; nothing dead-lettered."""
    for view in views:
        assert view["status"] in ("completed", "interrupted"), view["status"]
    assert sum(len(v["tasks"]) for v in views) == tasks
    outcomes = results_of(client, prefix)
    assert len(outcomes) == tasks, f"{tasks} tasks but {len(outcomes)} outcomes"
    assert set(outcomes.values()) == {1}, "an outcome recorded twice"
    assert client.xlen(f"{prefix}:dead") == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        for view in views:
            assert check_thread(conn, view["thread_id"]) == [], view["thread_id"]
        row = conn.execute("SELECT count(*) FROM chimera_audit WHERE event = 'drafted'").fetchone()
    assert row is not None and row[0] == tasks


def test_workers_killed_mid_task_again_and_again_lose_nothing(
    fresh_db: str, swarm: SwarmConfig, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(swarm.url)
    env = swarm_env(fresh_db, swarm.url, swarm.prefix, tmp_path,
                    CHIMERA_MAX_TASKS=str(TASKS_PER_GOAL))  # fmt: skip
    workers = Workers(env, latency=2.0)
    workers.wait_ready(client, swarm.prefix, workers.start(3))
    workers.start(1)  # a spare, starting while the others serve
    # The goals run in forked runner processes (the test process imports Chimera once).
    runs = [
        fork_call(env, "run", topics_goal(TASKS_PER_GOAL, f"linen {g}"), "ava", f"kills-{g}")
        for g in range(KILL_GOALS)
    ]
    rng = random.Random(7)
    kills = 0
    try:
        while any(proc.is_alive() for proc, _conn in runs):
            time.sleep(rng.uniform(0.5, 1.5))
            busy = [n for n, p in pending_by_consumer(client, swarm.prefix).items()
                    if n in workers.live]  # fmt: skip
            ready = [n for n in workers.live if client.exists(f"{swarm.prefix}:worker:{n}")]
            # Kill a worker holding a task while another one serves; start a replacement.
            if busy and len(ready) >= 2:
                workers.kill(rng.choice(busy))
                kills += 1
                workers.start(1)
        views = []
        for proc, conn in runs:
            status, view = answer(proc, conn)
            assert status == "ok", view
            views.append(view)
        reports = workers.stop_all()
    finally:
        for name in list(workers.live):
            workers.kill(name)
    total = KILL_GOALS * TASKS_PER_GOAL
    _check_all_done(views, fresh_db, client, swarm.prefix, total)
    print(f"{kills} workers killed mid-task")
    assert kills >= MIN_KILLS, f"only {kills} kills happened mid-task"
    assert sum(r["drafted"] for r in reports.values()) <= total
