"""Summary: one line on what the goal produced, once every task has finished."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.node_support import audit
from graphs.context import Context
from graphs.state import State


def summarize(state: State) -> str:
    published = state.get("published", [])
    asynchronous = sum(p["review"] == "async" for p in published)
    human = sum(p["review"] == "human" for p in published)
    discarded = len(state.get("discarded", []))
    return (
        f"{len(state.get('tasks', []))} tasks: {len(published)} published "
        f"({asynchronous} listed for async review, {human} approved by a reviewer), "
        f"{discarded} discarded"
    )


async def summary(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    text = summarize(state)
    await audit(
        runtime, "completed", actor="chimera", payload={"summary": text}, dedupe="completed"
    )
    return {"summary": text}
