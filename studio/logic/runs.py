"""The run page: start a goal with model, prompt-version and threshold overrides, through
the runner; the prompt versions it used go to the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chimera.adapters.postgres.prompts import PromptStore
from chimera.adapters.postgres.users import User
from chimera.app.run_settings import new_run_context, run_recorded, thread_context
from chimera.app.runner import Runner, new_thread_id
from chimera.app.wiring import App
from chimera.domain.errors import InputError
from chimera.graphs.context import Context
from chimera.studio.logic.actions import actor_of, allow


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
    ctx, chosen = await new_run_context(app, Context(), options.prompt_versions)
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
    return await run_recorded(
        runner, chosen, actor_of(user), options.goal, options.persona,
        thread_id=new_thread_id(), on_progress=on_progress, via="studio",
    )  # fmt: skip


async def runner_for_thread(app: App, prompts: PromptStore, thread_id: str) -> Runner:
    """A runner with the prompt versions, models and thresholds the thread's run started
    with (``chimera.app.run_settings.thread_context``)."""
    return Runner.of(app, await thread_context(app, thread_id))
