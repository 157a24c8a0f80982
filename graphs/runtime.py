"""What every node needs from its runtime: its services, the thread it runs in, and the
audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.runtime import Runtime

from chimera.domain.effects import AuditEvent
from chimera.domain.errors import ConfigError
from chimera.graphs.context import Context
from chimera.graphs.services import Services

ServicesFactory = Callable[[], Awaitable[Services]]
_process_factory: ServicesFactory | None = None
_process_services: Services | None = None
_opening = asyncio.Lock()


def install_process_services(factory: ServicesFactory | None) -> None:
    """Services for runs whose Context carries none (LangGraph's server builds Context
    from JSON): opened by ``factory`` on first use, once per process."""
    global _process_factory, _process_services
    _process_factory, _process_services = factory, None


async def services_of(runtime: Runtime[Context]) -> Services:
    """The run's collaborators: the Context's, else the process's. Never a silent default."""
    global _process_services
    if runtime.context.services is not None:
        return runtime.context.services
    if _process_factory is None:
        raise ConfigError(
            "no services are wired for this run: run the graph through chimera's runner "
            "(chimera.app.wiring) or load it from chimera.app.server (LangGraph's server)"
        )
    async with _opening:
        if _process_services is None:
            _process_services = await _process_factory()
    return _process_services


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
    await (await services_of(runtime)).audit.record(record)
    # The same event feeds live progress (stream_mode="custom") for the CLI and the studio.
    runtime.stream_writer({"event": event, "actor": actor, "task_id": task_id, **(payload or {})})
