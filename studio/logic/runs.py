"""The run page: start a goal with model, prompt-version and threshold overrides, through
the runner; the prompt versions it used go to the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chimera.adapters.postgres.prompts import PromptStore
from chimera.adapters.postgres.users import User
from chimera.app.runner import Runner, new_thread_id
from chimera.app.wiring import App
from chimera.domain.errors import InputError
from chimera.graphs.context import Context
from chimera.studio.logic.actions import allow, record
from chimera.studio.logic.prompts import context_with


@dataclass(frozen=True)
class RunOptions:
    persona: str
    goal: str
    model: str = ""  # every node's model; empty keeps the configured one
    prompt_versions: dict[str, int] = field(default_factory=dict)
    review_threshold: float | None = None
    publish_threshold: float | None = None


async def build_runner(
    app: App, prompts: PromptStore, options: RunOptions
) -> tuple[Runner, dict[str, int]]:
    chosen = {**await prompts.defaults(), **options.prompt_versions}
    ctx = await context_with(prompts, Context(), chosen)
    if options.model.strip():
        m = options.model.strip()
        ctx = replace(ctx, planner_model=m, worker_model=m, judge_model=m)
    review = ctx.review_threshold if options.review_threshold is None else options.review_threshold
    publish = (
        ctx.publish_threshold if options.publish_threshold is None else options.publish_threshold
    )
    if not 0.0 <= review <= publish <= 1.0:
        raise InputError(
            f"thresholds must satisfy 0 <= review ({review}) <= publish ({publish}) <= 1"
        )
    ctx = replace(ctx, review_threshold=review, publish_threshold=publish)
    return Runner.of(app, ctx), chosen


async def start_run(
    app: App,
    prompts: PromptStore,
    user: User,
    options: RunOptions,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    allow(user, "run")
    runner, chosen = await build_runner(app, prompts, options)
    thread_id = new_thread_id()
    # Validated by the runner before the thread exists; recorded once it does.
    started = False

    def progress(event: dict[str, Any]) -> None:
        nonlocal started
        started = True
        if on_progress is not None:
            on_progress(event)

    async def note() -> None:
        await record(
            app,
            user,
            "run_started",
            thread_id=thread_id,
            payload={"prompt_versions": chosen, "models": runner.models(),
                     "thresholds": [runner.context.review_threshold,
                                    runner.context.publish_threshold]},
        )  # fmt: skip

    try:
        view = await runner.run(options.goal, options.persona, thread_id, on_progress=progress)
    finally:
        if started or await runner.threads.get(thread_id) is not None:
            await note()
    return view


async def runner_for_thread(app: App, prompts: PromptStore, thread_id: str) -> Runner:
    """A runner with the prompt versions, models and thresholds the thread's run started
    with (its ``run_started`` record), so that a resumed task, a retry above all, drafts
    as its first attempt did. A thread started elsewhere (the CLI) gets the defaults."""
    async with app.db.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT payload FROM chimera_audit WHERE thread_id = %s AND event = 'run_started'"
            " ORDER BY id DESC LIMIT 1",
            (thread_id,),
        )
        row = await cur.fetchone()
    if row is None:
        return Runner.of(app)
    started = row["payload"]
    ctx = await context_with(prompts, Context(), started.get("prompt_versions") or {})
    models = started.get("models") or {}
    review, publish = started.get("thresholds") or (ctx.review_threshold, ctx.publish_threshold)
    ctx = replace(
        ctx,
        planner_model=models.get("planner", ctx.planner_model),
        worker_model=models.get("worker", ctx.worker_model),
        judge_model=models.get("judge", ctx.judge_model),
        review_threshold=float(review),
        publish_threshold=float(publish),
    )
    return Runner.of(app, ctx)
