"""Worker: writes one task's draft in the persona's voice."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from chimera.domain.memory import Recollection
from chimera.domain.types import Persona, Task
from chimera.graphs.context import Context
from chimera.graphs.memory.recall import count_posts_on, recall
from chimera.graphs.prompts import worker_messages
from chimera.graphs.runtime import audit, services_of
from chimera.graphs.schemas import Draft
from chimera.graphs.services import Services
from chimera.graphs.state import TaskState
from chimera.graphs.structured import structured_call


async def write_draft(
    ctx: Context,
    services: Services,
    store: BaseStore | None,
    persona: Persona,
    task: Task,
    feedback: str = "",
) -> tuple[Draft, Recollection]:
    """The worker node's whole work, callable outside the graph (evals): recall what the
    persona knows and has posted on the task, then draft in its voice."""
    model = services.chat_model(ctx.worker_model, ctx.model_timeout_s)
    memory = await recall(store, persona["id"], f"{task['topic']}: {task['brief']}")
    posted = await count_posts_on(store, persona["id"], task["topic"])
    messages = worker_messages(
        ctx.worker_prompt, persona, task, feedback, ctx.disclosure_label, memory, posted
    )
    draft = await structured_call(model, Draft, messages, node="worker")
    return draft, memory


async def worker(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    task = state["task"]
    attempt = state.get("attempt") or 1
    feedback = state.get("feedback", "")
    draft, memory = await write_draft(
        ctx, await services_of(runtime), runtime.store, state["persona"], task, feedback
    )
    await audit(
        runtime,
        "drafted",
        actor=f"worker:{ctx.worker_model}",
        task_id=task["id"],
        payload={
            "attempt": attempt,
            "text": draft.text,
            "notes": draft.notes,
            "feedback": feedback,
            "recalled": memory.keys,
        },
        dedupe=f"{task['id']}:{attempt}:drafted",
    )
    return {"draft": draft.text, "attempt": attempt}
