"""Opens the memory store: PostgresStore with pgvector (the default), Weaviate when
CHIMERA_MEMORY_URL says so, InMemoryStore for unit tests. All index the ``text`` field."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, IndexConfig
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.store.postgres.base import PostgresIndexConfig

from chimera.db.types import Pool
from chimera.embeddings import EMBEDDING_DIM, ChimeraEmbeddings
from chimera.errors import ConfigError

INDEXED_FIELDS = ["text"]


def index_config(embeddings: Embeddings | None = None) -> IndexConfig:
    return {
        "dims": EMBEDDING_DIM,
        "embed": embeddings or ChimeraEmbeddings(),
        "fields": INDEXED_FIELDS,
    }


def postgres_index_config(embeddings: Embeddings | None = None) -> PostgresIndexConfig:
    config: dict[str, Any] = dict(index_config(embeddings))
    config["distance_type"] = "cosine"
    config["ann_index_config"] = {"kind": "hnsw", "m": 16, "ef_construction": 64}
    return PostgresIndexConfig(**config)  # type: ignore[typeddict-item]


def in_memory_store(embeddings: Embeddings | None = None) -> InMemoryStore:
    return InMemoryStore(index=index_config(embeddings))


async def has_pgvector(pool: Pool) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'"
        )
        return await cur.fetchone() is not None


async def open_postgres_store(pool: Pool, embeddings: Embeddings | None = None) -> BaseStore:
    """The PostgresStore on Chimera's pool, its tables and vector index set up."""
    if not await has_pgvector(pool):
        raise ConfigError(
            "this PostgreSQL has no pgvector extension, which long-term memory needs: "
            "install pgvector on the server (package postgresql-NN-pgvector), or unset "
            "CHIMERA_DATABASE_URL to use the embedded PostgreSQL, which ships it"
        )
    store = AsyncPostgresStore(pool, index=postgres_index_config(embeddings))
    await store.setup()
    return store
