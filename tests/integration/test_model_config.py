"""A model spec that cannot work is bad input: exit 2 from the CLI with a message that
says what to do, and no thread is started (on both PostgreSQLs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.store.base import BaseStore

from chimera.adapters.postgres.database import Database
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.errors import ConfigError
from chimera.graphs.context import Context
from support.environment import subprocess_env

CHIMERA = Path(sys.executable).parent / "chimera"
GOAL = "posts on: thrifting and clothing repair"


async def test_runner_rejects_a_bad_model_before_the_thread_starts(
    database: Database, memory_store: BaseStore, thread_id: str
) -> None:
    # langchain-cohere is in no extra: no install here has it.
    ctx = Context(judge_model="cohere:command-r")
    runner = Runner(database, postgres_services(database), memory_store, ctx)
    before = await runner.list_threads()

    with pytest.raises(ConfigError, match=r"'cohere:command-r'.*pip install langchain-cohere"):
        await runner.run(GOAL, "ava", thread_id)

    assert await runner.threads.get(thread_id) is None
    assert await runner.list_threads() == before


async def test_resume_with_a_bad_model_changes_nothing(
    database: Database, memory_store: BaseStore, thread_id: str
) -> None:
    good = Runner(database, postgres_services(database), memory_store)
    # A sensitive topic interrupts whatever the score (the gate's rule, not a tuned model).
    view = await good.run("posts on: vaccines for kids", "ava", thread_id)
    [item] = view["interrupts"]
    bad = Runner(database, postgres_services(database), memory_store, Context(worker_model="gpt4"))

    with pytest.raises(ConfigError, match="provider:model"):
        await bad.resume(thread_id, item["id"], "retry", feedback="warmer")

    after = await good.show(thread_id)
    assert after["status"] == "interrupted"
    assert [i["id"] for i in after["interrupts"]] == [item["id"]]


def test_cli_exits_2_on_a_model_that_cannot_work(database_url: str, tmp_path: Path) -> None:
    # A malformed spec takes the same path (ConfigError); tests/unit/test_model_factory.py
    # has the messages. Each CLI call costs seconds of imports, so one case here.
    spec, wanted = "cohere:command-r", "pip install langchain-cohere"
    env = subprocess_env()
    env.update(
        CHIMERA_DATABASE_URL=database_url,
        CHIMERA_MEMORY_URL="memory",
        CHIMERA_HOME=str(tmp_path),
        CHIMERA_MODEL=spec,
    )
    proc = subprocess.run(
        [str(CHIMERA), "run", "--persona", "ava", "--goal", GOAL],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    message = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stderr
    assert message.startswith("error:") and spec in message and wanted in message, message
    assert "Traceback" not in proc.stderr and proc.stdout == ""
