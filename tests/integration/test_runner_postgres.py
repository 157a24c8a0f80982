"""The runner on a real PostgreSQL (embedded and external): checkpoints, outbox, audit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.store.base import BaseStore

from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.migrate import migrate, migrations
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.effects import AuditEvent, PublishRequest
from chimera.domain.errors import InputError, PersonaError
from chimera.graphs.memory import namespaces as ns

GOAL = "posts on: thrifting, gaming laptops, vaccines for kids and a fast fashion haul"


@pytest.fixture
def runner(database: Database, memory_store: BaseStore) -> Runner:
    return Runner(database, postgres_services(database), memory_store)


async def test_run_interrupt_resume_completes(runner: Runner, thread_id: str) -> None:
    view = await runner.run(GOAL, "ava", thread_id)
    assert view["status"] == "interrupted" and view["model"] == "offline"
    assert [t["id"] for t in view["tasks"]] == ["t1", "t2", "t3", "t4"]
    assert {p["task_id"]: p["review"] for p in view["published"]} == {"t1": "none", "t2": "async"}
    pending = {i["task_id"]: i["id"] for i in view["interrupts"]}
    assert set(pending) == {"t3", "t4"}

    view = await runner.resume(thread_id, pending["t3"], "approve", reviewer="rae")
    assert view["status"] == "interrupted"
    assert [i["id"] for i in view["interrupts"]] == [pending["t4"]]
    view = await runner.resume(thread_id, pending["t4"][:8], "reject", reviewer="rae")
    assert view["status"] == "completed"
    assert view["summary"].startswith("4 tasks: 3 published")

    posts = await runner.posts(thread_id)
    assert {p["task_id"]: p["review_status"] for p in posts} == {
        "t1": "none",
        "t2": "pending",
        "t3": "approved",
    }
    events = [(e["event"], e["task_id"]) for e in await runner.audit(thread_id)]
    assert ("decided", "t3") in events and ("discarded", "t4") in events
    assert events[-1] == ("completed", None)
    assert (await runner.threads.get(thread_id) or {})["status"] == "completed"
    listed = await runner.list_threads("completed")
    assert thread_id in [t["thread_id"] for t in listed]


async def test_history_lists_checkpoints(runner: Runner, thread_id: str) -> None:
    await runner.run("posts on: thrifting and clothing repair", "ava", thread_id)
    view = await runner.show(thread_id, history=True)
    checkpoints = view["checkpoints"]
    assert len(checkpoints) >= 3
    assert checkpoints[0]["next"] == [] and checkpoints[-1]["source"] == "input"


async def test_bad_input_changes_nothing(runner: Runner, thread_id: str) -> None:
    await runner.run(GOAL, "ava", thread_id)
    before = await runner.show(thread_id)
    threads_before = await runner.list_threads()
    pending = before["interrupts"][0]
    with pytest.raises(InputError, match="unknown thread"):
        await runner.resume("no-such-thread", pending["id"], "approve")
    with pytest.raises(InputError, match="no pending review 'abcdef123'"):
        await runner.resume(thread_id, "abcdef123", "approve")
    with pytest.raises(InputError, match="needs the new text"):
        await runner.resume(thread_id, pending["id"], "edit")
    with pytest.raises(InputError, match="decision must be one of"):
        await runner.resume(thread_id, pending["id"], "publish-anyway")
    with pytest.raises(InputError, match="goal is empty"):
        await runner.run("   ", "ava")
    with pytest.raises(PersonaError, match="unknown persona 'zed'"):
        await runner.run("posts on thrifting", "zed")
    with pytest.raises(InputError, match="waiting on 2 review"):
        await runner.run(None, None, thread_id)
    assert await runner.show(thread_id) == before
    assert await runner.list_threads() == threads_before


async def test_resume_of_a_completed_thread_is_refused(runner: Runner, thread_id: str) -> None:
    await runner.run("posts on: thrifting and clothing repair", "ava", thread_id)
    with pytest.raises(InputError, match="not waiting on a review"):
        await runner.resume(thread_id, "whatever", "approve")
    with pytest.raises(InputError, match="already completed"):
        await runner.run(None, None, thread_id)


async def test_publisher_is_idempotent_under_concurrency(runner: Runner, thread_id: str) -> None:
    request = PublishRequest(
        thread_id=thread_id, task_id="t1", attempt=1, persona_id="ava", handle="@ava",
        platform="x", text="hello #AI", review="none", confidence=0.95,
    )  # fmt: skip
    publisher = runner.context.services.publisher
    receipts = await asyncio.gather(*(publisher.publish(request) for _ in range(5)))
    assert len({r.post_id for r in receipts}) == 1
    assert sum(r.created for r in receipts) == 1
    assert len(await runner.posts(thread_id)) == 1


async def test_audit_dedupes_and_masks_secrets(
    runner: Runner, thread_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    audit = runner.context.services.audit
    event = AuditEvent(
        thread_id=thread_id,
        event="drafted",
        actor="worker:test",
        payload={"text": f"leaked {secret}", "nested": [{"k": secret}]},
        dedupe_key=f"{thread_id}:x",
    )
    await audit.record(event)
    await audit.record(event)
    await runner.threads.start(thread_id, "ava", "goal", {})
    rows: list[dict[str, Any]] = await runner.audit(thread_id)
    assert len(rows) == 1
    assert secret not in str(rows) and "[REDACTED]" in rows[0]["payload"]["text"]


async def test_migrations_are_applied_once(database: Database) -> None:
    async with database.pool.connection() as conn:
        assert await migrate(conn) == []
        cur = await conn.execute("SELECT version FROM chimera_schema_migrations")
        applied = sorted(r["version"] for r in await cur.fetchall())
        assert applied == [version for version, _ in migrations()]
        assert {1, 2, 3} <= set(applied)


async def test_memory_is_recalled_and_written_back(
    runner: Runner, memory_store: BaseStore, thread_id: str
) -> None:
    view = await runner.run("posts on: thrifting and a fast fashion haul", "ava", thread_id)
    facts = await memory_store.asearch(ns.facts("ava"), limit=50)
    assert any("fast-fashion hauls" in f.value["text"] for f in facts)
    drafted = [e for e in await runner.audit(thread_id) if e["event"] == "drafted"]
    assert all(e["payload"]["recalled"] for e in drafted)
    post_id = view["published"][0]["post_id"]
    stored = await memory_store.aget(ns.posts("ava"), post_id)
    assert stored is not None and stored.value["thread_id"] == thread_id
    item = view["interrupts"][0]
    await runner.resume(thread_id, item["id"], "reject", reviewer="rae", feedback="off-brand")
    decision = await memory_store.aget(ns.interactions("ava"), f"{thread_id}:t2:1")
    assert decision is not None
    assert decision.value["decision"] == "reject" and decision.value["reviewer"] == "rae"
    summary = await memory_store.aget(ns.summaries("ava"), thread_id)
    assert (
        summary is not None and "Reviewers rejected: a fast fashion haul" in summary.value["text"]
    )
