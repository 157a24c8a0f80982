"""Opens the memory store: PostgresStore with pgvector (the default), Weaviate when
CHIMERA_MEMORY_URL says so, InMemoryStore for unit tests. All index the ``text`` field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, IndexConfig, Result, SearchOp
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.store.postgres.base import PostgresIndexConfig
from psycopg import AsyncCursor
from psycopg.rows import DictRow

from chimera.adapters.embeddings import EMBEDDING_DIM, ChimeraEmbeddings
from chimera.adapters.postgres.database import schema_lock
from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import ConfigError

INDEXED_FIELDS = ["text"]

# pgvector's HNSW scan hands the store hnsw.ef_search candidates (40 by default) and the
# namespace filter runs after it: at 100k memories a persona holding 3% of the rows got
# about 1 result of 10. Iterative scans (pgvector >= 0.8) walk on until enough rows pass
# the filter; ef_search 100 lifts recall@10 of a large namespace from 0.957-0.986 to
# 0.984-0.996 (benchmarks/memory_search.py).
HNSW_EF_SEARCH = 100
ITERATIVE_SCAN_SINCE = (0, 8, 0)


class ChimeraPostgresStore(AsyncPostgresStore):
    """AsyncPostgresStore that SETs pgvector's search parameters before each search, on
    the same pipelined cursor, so they hold on whichever pooled connection runs it.

    It overrides a private method of langgraph-checkpoint-postgres (pinned in
    pyproject.toml); the store contract tests catch a change there.
    """

    search_settings: tuple[str, ...] = ()

    async def _batch_search_ops(
        self,
        search_ops: Sequence[tuple[int, SearchOp]],
        results: list[Result],
        cur: AsyncCursor[DictRow],
    ) -> None:
        for statement in self.search_settings:
            await cur.execute(statement)
        await super()._batch_search_ops(search_ops, results, cur)


async def pgvector_version(pool: Pool) -> tuple[int, ...]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = await cur.fetchone()
    return tuple(int(n) for n in re.findall(r"\d+", row["extversion"])[:3]) if row else ()


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
    store = ChimeraPostgresStore(pool, index=postgres_index_config(embeddings))
    async with schema_lock(pool):  # store.setup() takes no lock of its own
        await store.setup()
    settings = [f"SET hnsw.ef_search = {HNSW_EF_SEARCH}"]
    # Older pgvector reserves the hnsw prefix and rejects the unknown parameter.
    if await pgvector_version(pool) >= ITERATIVE_SCAN_SINCE:
        settings.append("SET hnsw.iterative_scan = relaxed_order")
    store.search_settings = tuple(settings)
    return store
