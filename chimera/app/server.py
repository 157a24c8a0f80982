"""LangGraph's server entry point: what ``langgraph.json`` loads for ``langgraph dev``.

- ``graph``: the uncompiled builder; the server compiles it with its own checkpointer
  and with ``memory_store`` as its store.
- ``memory_store``: the server's long-term memory store IS Chimera's (PostgresStore
  with pgvector by default, whatever CHIMERA_MEMORY_URL names), so the store API, the
  workers' recall and the judge's checks all read the same memories as the CLI.

Both come from one opened Chimera (``chimera.app.wiring.open_app``, from the same
CHIMERA_* settings as the CLI) per event loop, opened when the server starts and kept
open for its life: posts land in Chimera's outbox, the audit trail in its PostgreSQL.
The server builds ``Context`` from the assistant's JSON, so runs carry no services;
nodes then take these process services. Never an in-memory fallback: when the database
cannot be opened the server (or the run) stops with a message that says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from langgraph.store.base import BaseStore

from chimera.adapters.tracing import install_process_tracing
from chimera.app.wiring import App, open_app
from chimera.domain.errors import ConfigError
from chimera.domain.redaction import redact_value
from chimera.graphs.runtime import install_process_services
from chimera.graphs.services import Services
from chimera.graphs.swarm import builder
from chimera.settings import Settings

graph = builder

# Runs the server traces go through Chimera's redacting langsmith client, as the CLI's do.
install_process_tracing()

# A pool belongs to the event loop that opened it: one App per loop (the server runs
# its graphs and its store on one loop; a request served on another gets its own).
_opening: dict[asyncio.AbstractEventLoop, asyncio.Task[tuple[App, AsyncExitStack]]] = {}


async def _enter_app() -> tuple[App, AsyncExitStack]:
    stack = AsyncExitStack()
    try:
        app = await stack.enter_async_context(open_app(Settings()))
    except Exception as exc:
        await stack.aclose()
        _opening.pop(asyncio.get_running_loop(), None)  # the next call tries again
        raise ConfigError(
            redact_value(
                "LangGraph's server cannot open Chimera's database and memory "
                f"(CHIMERA_DATABASE_URL, CHIMERA_MEMORY_URL): {exc}"
            )
        ) from exc
    return app, stack


async def opened_app() -> App:
    """This loop's Chimera, opened on first use."""
    loop = asyncio.get_running_loop()
    task = _opening.get(loop)
    if task is None:
        task = _opening[loop] = loop.create_task(_enter_app())
    app, _stack = await task
    return app


async def close_app() -> None:
    task = _opening.pop(asyncio.get_running_loop(), None)
    if task is not None and task.done() and task.exception() is None:
        await task.result()[1].aclose()


async def process_services() -> Services:
    return (await opened_app()).services


@asynccontextmanager
async def memory_store() -> AsyncIterator[BaseStore]:
    """langgraph.json's ``store.path``: entered by the server as it starts, left as it stops."""
    app = await opened_app()
    if app.store is None:  # open_app opens memory unless told not to
        raise ConfigError("Chimera was opened without long-term memory")
    try:
        yield app.store
    finally:
        await close_app()


install_process_services(process_services)
