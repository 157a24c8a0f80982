"""Discard: records a result a reviewer rejected. Nothing is published."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.domain.types import Discarded
from chimera.graphs.context import Context
from chimera.graphs.runtime import audit
from chimera.graphs.state import TaskState


async def discard(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    task = state["task"]
    attempt = state.get("attempt") or 1
    reason = state.get("feedback") or "rejected by a reviewer"
    await audit(
        runtime,
        "discarded",
        actor="gate",
        task_id=task["id"],
        payload={"attempt": attempt, "reason": reason},
        dedupe=f"{task['id']}:{attempt}:discarded",
    )
    return {
        "discarded": [
            Discarded(
                task_id=task["id"],
                attempt=attempt,
                reviewer=state.get("reviewer", ""),
                reason=reason,
            )
        ]
    }
