"""The settings a run starts with, shared by every face: the promoted prompt versions are
the default of a new run, the run records them, and a continued or resumed thread runs on
with them, unless the environment sets a field itself."""

from __future__ import annotations

import pytest

from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.prompts import PromptStore
from chimera.app.run_settings import (
    CUSTOM_PROMPT,
    new_run_context,
    run_recorded,
    thread_context,
)
from chimera.app.runner import Runner, new_thread_id
from chimera.app.wiring import App, postgres_services
from chimera.graphs.context import Context
from chimera.graphs.prompts import load_prompt, prompt_versions


def _app(database: Database) -> App:
    return App(settings=None, db=database, memory=None, services=postgres_services(database))  # type: ignore[arg-type]


async def _started(database: Database, thread_id: str) -> list[dict]:
    async with database.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT actor, payload FROM chimera_audit WHERE thread_id = %s"
            " AND event = 'run_started'",
            (thread_id,),
        )
        return list(await cur.fetchall())


async def test_a_promoted_version_is_the_default_and_a_thread_keeps_its_own(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(database)
    prompts = PromptStore(database.pool)
    await prompts.seed()
    newest = max(prompt_versions("worker"))
    await prompts.promote("worker", 1, "rae")
    try:
        ctx, chosen = await new_run_context(app)
        assert chosen["worker"] == 1 and chosen["judge"] == max(prompt_versions("judge"))
        assert ctx.worker_prompt == load_prompt("worker", 1)
        thread_id = new_thread_id()
        view = await run_recorded(Runner.of(app, ctx), chosen, "human:sam",
                                  "Posts on: thrifting", "ava", thread_id=thread_id,
                                  via="cli")  # fmt: skip
        assert view["thread_id"] == thread_id
        [started] = await _started(database, thread_id)
        assert started["actor"] == "human:sam" and started["payload"]["via"] == "cli"
        assert started["payload"]["prompt_versions"]["worker"] == 1
        # Promoting another version later does not change the thread's own.
        await prompts.promote("worker", newest, "rae")
        assert (await thread_context(app, thread_id)).worker_prompt == load_prompt("worker", 1)
        # What the environment sets wins over the record: a model switched after an outage.
        monkeypatch.setenv("CHIMERA_WORKER_MODEL", "offline:other")
        continued = await thread_context(app, thread_id)
        assert continued.worker_model == "offline:other"
        assert continued.worker_prompt == load_prompt("worker", 1)
    finally:
        await prompts.promote("worker", newest, "rae")


async def test_a_prompt_text_from_the_environment_is_recorded_as_custom(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHIMERA_PLANNER_PROMPT", "Plan: <goal>{goal}</goal>")
    ctx, chosen = await new_run_context(_app(database))
    assert chosen["planner"] == CUSTOM_PROMPT
    assert ctx.planner_prompt == "Plan: <goal>{goal}</goal>"


async def test_a_refused_run_records_nothing(database: Database) -> None:
    app = _app(database)
    ctx, chosen = await new_run_context(app)
    thread_id = new_thread_id()
    with pytest.raises(ValueError, match="goal is empty"):
        await run_recorded(Runner.of(app, ctx), chosen, "human:sam", "  ", "ava",
                           thread_id=thread_id, via="cli")  # fmt: skip
    assert await _started(database, thread_id) == []
    assert (await thread_context(app, thread_id)) == Context()
