"""Where every collaborator is wired: the one place the runner, the CLI, LangGraph's
server path, the evals and the tests get their database, memory and services from.

- ``in_memory_services()``: an in-process publisher and audit trail (unit tests, evals).
- ``postgres_services(db)``: the sandbox publisher (outbox) and audit trail in PostgreSQL.
- ``replay_services(services)``: the same, except that nothing can be published.
- ``open_executor(settings)``: who writes drafts: the Redis swarm (CHIMERA_REDIS_URL) or
  this process.
- ``open_memory(settings, db)``: the long-term memory store named by CHIMERA_MEMORY_URL.
- ``open_app(settings)``: all of it, closed in order on exit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from langgraph.store.base import BaseStore
from psycopg_pool import AsyncConnectionPool

from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher, RefusingPublisher
from chimera.adapters.memory.postgres import in_memory_store, open_postgres_store
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.nli.choice import get_scorer
from chimera.adapters.persona_files import PersonaFiles
from chimera.adapters.postgres.audit import PostgresAuditLog
from chimera.adapters.postgres.database import CONNECTION_KWARGS, Database
from chimera.adapters.postgres.decisions import PostgresDecisionLog
from chimera.adapters.postgres.outbox import SandboxPublisher
from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import ConfigError
from chimera.graphs.memory.seed import seed_policies
from chimera.graphs.services import InProcessExecutor, Services, TaskExecutor
from chimera.settings import Settings

if TYPE_CHECKING:
    from chimera.adapters.redis_streams.executor import RedisExecutor


def in_memory_services() -> Services:
    """Collaborators that live in this process: nothing reaches a database."""
    return Services(
        publisher=InMemoryPublisher(),
        audit=InMemoryAuditLog(),
        chat_model=load_chat_model,
        nli_scorer=get_scorer(),
        personas=PersonaFiles(),
    )


def postgres_services(db: Database, executor: TaskExecutor | None = None) -> Services:
    """Collaborators on Chimera's PostgreSQL: the outbox publisher and the audit trail;
    drafts are written by ``executor`` (default: in this process)."""
    return Services(
        publisher=SandboxPublisher(db.pool),
        audit=PostgresAuditLog(db.pool),
        chat_model=load_chat_model,
        nli_scorer=get_scorer(),
        personas=PersonaFiles(),
        executor=executor or InProcessExecutor(),
        decisions=PostgresDecisionLog(db.pool),
    )


def open_executor(settings: Settings) -> InProcessExecutor | RedisExecutor:
    """Who writes the drafts: the swarm's workers on CHIMERA_REDIS_URL, else this process.
    (A Redis client connects on first use, so reading threads never needs Redis.)"""
    if settings.redis_url:
        # Imported here: redis takes a second to import, which other commands never pay.
        from chimera.adapters.redis_streams.config import SwarmConfig
        from chimera.adapters.redis_streams.executor import RedisExecutor

        return RedisExecutor(SwarmConfig.from_settings(settings))
    return InProcessExecutor()


def replay_services(services: Services) -> Services:
    """For replaying a node (the studio's prompt comparisons): the same models and scorer,
    a publisher that refuses, an audit trail that stays in this process, and no decisions."""
    return replace(
        services, publisher=RefusingPublisher(), audit=InMemoryAuditLog(), decisions=None
    )


async def _nothing() -> None:
    return None


@dataclass
class MemoryBackend:
    store: BaseStore
    backend: str  # what people see: "postgres (same database)", "weaviate://...", ...
    close: Callable[[], Awaitable[None]] = _nothing


async def open_memory(settings: Settings, db: Database) -> MemoryBackend:
    url = (settings.memory_url or "").strip()
    if not url:
        memory = MemoryBackend(await open_postgres_store(db.pool), "postgres (the database itself)")
    elif url == "memory":
        memory = MemoryBackend(in_memory_store(), "in-process (lost at exit)")
    elif url == "embedded" or url.startswith(("postgresql://", "postgres://")):
        if url == "embedded":
            server = EmbeddedPostgres(settings.home).start()
            url = ensure_database(server, settings.embedded_database)
        pool: Pool = AsyncConnectionPool(
            url, min_size=1, max_size=4, kwargs=CONNECTION_KWARGS, open=False
        )
        await pool.open(wait=True, timeout=15)
        store = await open_postgres_store(pool)
        label = "postgres (embedded)" if settings.memory_url == "embedded" else "postgres"
        memory = MemoryBackend(store, label, pool.close)
    elif url.startswith("weaviate://"):
        from chimera.adapters.memory.weaviate.store import WeaviateStore

        weaviate = WeaviateStore.from_url(url)

        async def close() -> None:
            weaviate.close()

        memory = MemoryBackend(weaviate, url.split("?")[0], close)
    else:
        raise ConfigError(
            f"CHIMERA_MEMORY_URL {url!r} is not one of: unset, 'embedded', 'memory', "
            "postgresql://..., weaviate://host:port"
        )
    await seed_policies(memory.store)
    return memory


@dataclass
class App:
    """An opened Chimera: database, long-term memory (None when not asked for), services."""

    settings: Settings
    db: Database
    memory: MemoryBackend | None
    services: Services

    @property
    def store(self) -> BaseStore | None:
        return self.memory.store if self.memory is not None else None


@asynccontextmanager
async def open_app(settings: Settings | None = None, *, memory: bool = True) -> AsyncIterator[App]:
    """Opens the database (and memory, unless ``memory=False``: reading threads needs none)."""
    settings = settings or Settings()
    db = await Database.open(settings)
    try:
        mem = await open_memory(settings, db) if memory else None
        executor = open_executor(settings)
        try:
            yield App(settings, db, mem, postgres_services(db, executor))
        finally:
            await executor.close()
            if mem is not None:
                await mem.close()
    finally:
        await db.close()
