"""Publish: the only node with an external effect, run after the gate, idempotent."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.domain.effects import PublishRequest
from chimera.domain.types import PublishedPost, ReviewMode
from chimera.graphs.context import Context
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.runtime import audit, services_of, thread_id_of
from chimera.graphs.state import TaskState


async def publish(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:

    services = await services_of(runtime)
    persona, task = state["persona"], state["task"]
    attempt = state.get("attempt") or 1
    review: ReviewMode = state.get("review") or "none"
    request = PublishRequest(
        thread_id=thread_id_of(runtime),
        task_id=task["id"],
        attempt=attempt,
        persona_id=persona["id"],
        handle=persona["handle"],
        platform=persona["platforms"][0],
        text=state["draft"],
        review=review,
        confidence=state["verdict"]["confidence"],
    )
    # The publisher keys on (thread, task, attempt): a replay returns the same post.
    receipt = await services.publisher.publish(request)
    await audit(
        runtime,
        "published",
        actor="publisher",
        task_id=task["id"],
        payload={
            "attempt": attempt,
            "post_id": receipt.post_id,
            "platform": receipt.platform,
            "review": review,
            "first_delivery": receipt.created,
        },
        dedupe=f"{task['id']}:{attempt}:published",
    )
    if runtime.store is not None:
        # Written back so that later drafts recall it and the judge spots repeats.
        await runtime.store.aput(
            ns.posts(persona["id"]),
            receipt.post_id,
            {
                "text": request.text,
                "topic": task["topic"],
                "thread_id": request.thread_id,
                "task_id": task["id"],
                "review": review,
                "persona": persona["id"],
            },
        )
    post = PublishedPost(
        task_id=task["id"],
        attempt=attempt,
        post_id=receipt.post_id,
        platform=receipt.platform,
        review=review,
    )
    return {"published": [post]}
