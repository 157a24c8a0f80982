"""Chooses and opens the long-term memory backend from CHIMERA_MEMORY_URL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langgraph.store.base import BaseStore
from psycopg_pool import AsyncConnectionPool

from chimera.db.database import CONNECTION_KWARGS, Database
from chimera.db.embedded import EmbeddedPostgres, ensure_database
from chimera.db.types import Pool
from chimera.errors import ConfigError
from chimera.memory.seed import seed_policies
from chimera.memory.store import in_memory_store, open_postgres_store
from chimera.settings import Settings


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
        from chimera.memory.weaviate_store import WeaviateStore

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
