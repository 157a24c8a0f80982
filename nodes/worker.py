"""Worker: writes one task's draft in the persona's voice."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.memory.recall import count_posts_on, recall
from chimera.models.structured import structured_call
from chimera.node_support import audit
from chimera.prompting import worker_messages
from graphs.context import Context
from graphs.schemas import Draft
from graphs.state import TaskState


async def worker(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    task = state["task"]
    attempt = state.get("attempt") or 1
    feedback = state.get("feedback", "")
    persona = state["persona"]
    model = ctx.services.chat_model(ctx.worker_model, ctx.model_timeout_s)
    memory = await recall(runtime.store, persona["id"], f"{task['topic']}: {task['brief']}")
    posted = await count_posts_on(runtime.store, persona["id"], task["topic"])
    messages = worker_messages(
        ctx.worker_prompt, persona, task, feedback, ctx.disclosure_label, memory, posted
    )
    draft = await structured_call(model, Draft, messages, node="worker")
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
