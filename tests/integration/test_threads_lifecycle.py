"""Threads that say the truth and decisions that are never lost, on both PostgreSQLs:
leases and the stalled status, a decision recorded by a resume cut short and applied by
the next command, bad configuration that writes nothing, and checkpoint pruning."""

from __future__ import annotations

import asyncio

import pytest

from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.retention import checkpoint_bytes
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.errors import ConfigError, InputError, ThreadBusy
from chimera.domain.types import Decision

pytestmark = pytest.mark.integration

GOAL = "posts on: thrifting, gaming laptops, vaccines for kids and a fast fashion haul"


@pytest.fixture
def runner(database: Database) -> Runner:
    return Runner(database, postgres_services(database), lease_seconds=1)


async def test_a_thread_without_a_live_lease_is_stalled_and_taken_over(
    runner: Runner, thread_id: str
) -> None:
    await runner.threads.start(thread_id, "ava", "goal", {}, owner="dead:1:x", lease_seconds=1)
    assert (await runner.threads.get(thread_id) or {})["status"] == "running"
    assert await runner.threads.acquire(thread_id, "other:2:y", 1) == "dead:1:x"
    await asyncio.sleep(1.3)
    assert (await runner.threads.get(thread_id) or {})["status"] == "stalled"
    stalled = [t["thread_id"] for t in await runner.list_threads("stalled")]
    assert thread_id in stalled
    assert await runner.threads.acquire(thread_id, runner.owner, 1) is None  # taken over


async def test_two_processes_never_drive_one_thread(runner: Runner, thread_id: str) -> None:
    view = await runner.run("posts on: thrifting and clothing repair", "ava", thread_id)
    assert view["status"] == "completed"
    await runner.threads.acquire(thread_id, "elsewhere:9:z", 30)
    with pytest.raises(ThreadBusy, match="being driven by another process"):
        await runner.run(None, None, thread_id)
    await runner.threads.release(thread_id, "elsewhere:9:z")


async def test_a_recorded_decision_is_applied_by_the_next_command(
    runner: Runner, thread_id: str
) -> None:
    view = await runner.run(GOAL, "ava", thread_id)
    pending = {i["task_id"]: i for i in view["interrupts"]}
    item = pending["t3"]
    # What a resume killed right after recording leaves behind.
    decision = Decision(decision="approve", reviewer="ann")
    await runner.decisions.record(thread_id, item["id"], "t3", item["attempt"], decision)
    view = await runner.show(thread_id)
    assert "t3" in {p["task_id"] for p in view["published"]}
    recorded = await runner.decisions.get(thread_id, item["id"])
    assert recorded is not None and recorded.state == "applied"
    with pytest.raises(InputError, match="already decided: approve by ann"):
        await runner.resume(thread_id, item["id"], "reject", reviewer="bob")
    # The same decision again is accepted and changes nothing.
    again = await runner.resume(thread_id, item["id"], "approve", reviewer="ann")
    assert [p["task_id"] for p in again["published"]].count("t3") == 1


async def test_bad_configuration_writes_nothing(
    database: Database, thread_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for spec in ("nonsense", "no_such_provider_xyz:model"):
        monkeypatch.setenv("CHIMERA_JUDGE_MODEL", spec)
        runner = Runner(database, postgres_services(database))
        with pytest.raises(ConfigError, match="judge model"):
            await runner.run("posts on: thrifting", "ava", thread_id)
        assert await runner.threads.get(thread_id) is None
        assert await database.checkpointer.aget_tuple(runner._config(thread_id)) is None


async def test_bad_text_and_thread_ids_are_refused(runner: Runner, thread_id: str) -> None:
    with pytest.raises(InputError, match="NUL"):
        await runner.run("posts on:\x00 thrifting", "ava", thread_id)
    for bad in ("../../etc/x", "a b"):
        with pytest.raises(InputError, match="thread id"):
            await runner.run("posts on: thrifting", "ava", bad)
    assert await runner.threads.get(thread_id) is None


async def test_prune_deletes_finished_checkpoints_and_keeps_posts(
    runner: Runner, database: Database, thread_id: str
) -> None:
    await runner.run("posts on: thrifting and clothing repair", "ava", thread_id)
    live = thread_id + "-live"
    await runner.threads.start(live, "ava", "goal", {}, owner="live:1:x", lease_seconds=60)
    async with database.pool.connection() as conn:
        await conn.execute(
            "UPDATE chimera_threads SET updated_at = now() - interval '10 days'"
            " WHERE thread_id = ANY(%s)",
            ([thread_id, live],),
        )
    before = await checkpoint_bytes(database.pool, [thread_id])
    assert before > 0
    posts = await runner.posts(thread_id)
    dry = await runner.prune(7, dry_run=True)
    assert thread_id in dry["threads"] and live not in dry["threads"] and dry["bytes"] >= before
    assert await checkpoint_bytes(database.pool, [thread_id]) == before
    assert thread_id not in (await runner.prune(7, "discarded"))["threads"]  # it published
    done = await runner.prune(7, "completed")
    assert thread_id in done["threads"] and done["bytes"] >= before
    assert await checkpoint_bytes(database.pool, [thread_id]) == 0
    assert await runner.posts(thread_id) == posts
    assert await runner.audit(thread_id)
    assert (await runner.prune(7))["threads"] == []  # nothing left to prune
    with pytest.raises(InputError):
        await runner.prune(-1)
