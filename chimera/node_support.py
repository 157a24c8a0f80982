"""What every node needs from its runtime: the thread it runs in, and the audit trail."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.services import AuditEvent
from graphs.context import Context


def thread_id_of(runtime: Runtime[Context]) -> str:
    info = runtime.execution_info
    return (info.thread_id if info else None) or "unthreaded"


async def audit(
    runtime: Runtime[Context],
    event: str,
    *,
    actor: str,
    task_id: str | None = None,
    payload: dict[str, Any] | None = None,
    dedupe: str | None = None,
) -> None:
    """Record one event; ``dedupe`` names it uniquely within the thread so that a node
    re-run on resume does not write it twice."""
    thread_id = thread_id_of(runtime)
    record = AuditEvent(
        thread_id=thread_id,
        event=event,
        actor=actor,
        task_id=task_id,
        payload=payload or {},
        dedupe_key=f"{thread_id}:{dedupe}" if dedupe else None,
    )
    await runtime.context.services.audit.record(record)
    # The same event feeds live progress (stream_mode="custom") for the CLI and the studio.
    runtime.stream_writer({"event": event, "actor": actor, "task_id": task_id, **(payload or {})})
