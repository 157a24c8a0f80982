"""The swarm's commands as a user runs them: `chimera worker` and `chimera swarm status`
refuse to start without a Redis; status reads a real one; `chimera swarm up --goal` runs a
goal through an embedded Redis and local workers on a fresh home (the zero-config path)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from chimera.adapters.redis_streams.config import SwarmConfig
from support.swarm_processes import CHIMERA, swarm_env


def _env(**extra: str) -> dict[str, str]:
    env = swarm_env("", "", "", Path(tempfile.gettempdir()))
    for name in ("CHIMERA_DATABASE_URL", "CHIMERA_REDIS_URL", "CHIMERA_REDIS_PREFIX"):
        env.pop(name)
    env.update(extra)
    return env


@pytest.mark.parametrize("command", [["worker"], ["swarm", "status"]])
def test_swarm_commands_without_a_redis_say_what_to_set(command: list[str]) -> None:
    done = subprocess.run([str(CHIMERA), *command, "--json"], env=_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stderr.strip().splitlines()[-1])["error"]
    assert "CHIMERA_REDIS_URL" in error["message"]


def test_swarm_status_reads_the_stream(swarm: SwarmConfig) -> None:
    client = redis.Redis.from_url(swarm.url)
    client.xgroup_create(swarm.tasks, "workers", id="0", mkstream=True)
    client.xadd(swarm.tasks, {"job": "waiting"})
    client.xadd(swarm.dead, {"reason": "test"})
    env = _env(CHIMERA_REDIS_URL=swarm.url, CHIMERA_REDIS_PREFIX=swarm.prefix)
    done = subprocess.run([str(CHIMERA), "swarm", "status", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["queue_depth"] == 1 and status["dead_letters"] == 1
    assert status["pending"] == 0 and status["live_workers"] == []


@pytest.mark.slow
def test_swarm_up_runs_a_goal_on_a_fresh_home() -> None:
    home = Path(tempfile.mkdtemp(prefix="chimera-swarm-up-"))
    env = _env(CHIMERA_HOME=str(home))
    env.pop("CHIMERA_MEMORY_URL")  # zero-config: the embedded PostgreSQL holds memory too
    try:
        done = subprocess.run(
            [str(CHIMERA), "swarm", "up", "--workers", "2", "--persona", "ava", "--goal",
             "Posts on: thrifting, capsule wardrobes, clothing repair", "--json"],
            env=env, capture_output=True, text=True, timeout=400,
        )  # fmt: skip
    finally:
        subprocess.run([str(CHIMERA), "db", "stop"], env=env, capture_output=True, timeout=120)
        saved = (home / "redis" / "swarm.rdb").is_file()
        shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    view = json.loads(done.stdout)
    # Judged and routed (published or waiting on a review: the judge's business, not this
    # test's), every task drafted by the swarm's workers.
    assert view["status"] in ("completed", "interrupted")
    assert len(view["results"]) == 3
    assert view["swarm"]["workers"] == ["local-1", "local-2"]
    drafted = re.findall(r"stopped after drafting (\d+) task", done.stderr)
    # At least once: a task whose hold lapsed (a worker busy loading its models) may be
    # drafted again by the other worker; its outcome is recorded once (3 results above).
    assert len(drafted) == 2 and sum(map(int, drafted)) >= 3, done.stderr[-2000:]
    assert saved, "the embedded Redis saves its data in CHIMERA_HOME"
