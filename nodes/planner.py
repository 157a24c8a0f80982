"""Planner: breaks the goal into typed tasks (structured output)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.domain.types import Persona, Task
from chimera.graphs.context import Context
from chimera.graphs.prompts import planner_messages
from chimera.graphs.runtime import audit, services_of
from chimera.graphs.schemas import Plan
from chimera.graphs.services import Services
from chimera.graphs.state import State
from chimera.graphs.structured import structured_call


async def make_plan(
    ctx: Context, services: Services, persona: Persona, goal: str
) -> tuple[list[Task], list[str]]:
    """The planner node's whole work, callable outside the graph (replays): the goal's
    tasks, at most ``max_tasks``, and the topics left out."""
    model = services.chat_model(ctx.planner_model, ctx.model_timeout_s)
    messages = planner_messages(ctx.planner_prompt, persona, goal, ctx.max_tasks)
    plan = await structured_call(model, Plan, messages, node="planner")
    tasks = [
        Task(id=f"t{i}", kind=t.kind, topic=t.topic.strip(), brief=t.brief.strip())
        for i, t in enumerate(plan.tasks[: ctx.max_tasks], start=1)
    ]
    return tasks, left_out_topics(plan, ctx.max_tasks)


async def planner(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    services = await services_of(runtime)
    tasks, left_out = await make_plan(ctx, services, state["persona"], state["goal"])
    await audit(
        runtime,
        "planned",
        actor=f"planner:{ctx.planner_model}",
        payload={"goal": state["goal"], "tasks": list(tasks), "left_out": left_out},
        dedupe="planned",
    )
    return {"tasks": tasks, "left_out": left_out}


def left_out_topics(plan: Plan, max_tasks: int) -> list[str]:
    """The topics no task covers: those the model set aside and the tasks past
    ``max_tasks``, each once, in order."""
    topics = [*plan.left_out, *(t.topic for t in plan.tasks[max_tasks:])]
    return list(dict.fromkeys(t.strip() for t in topics if t.strip()))
