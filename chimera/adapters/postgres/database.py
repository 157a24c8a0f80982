"""Opens Chimera's PostgreSQL: external from CHIMERA_DATABASE_URL, or the embedded one.
Applies migrations and sets up LangGraph's checkpoint tables, all under one advisory lock
so that any number of processes may start at once on a fresh database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.adapters.postgres.migrate import migrate
from chimera.adapters.postgres.serde import RedactingSerializer
from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import ConfigError
from chimera.domain.redaction import redact_text, secret_values
from chimera.settings import Settings

log = logging.getLogger("chimera.postgres")

# What PostgresSaver needs from its connections (autocommit, dict rows), and no
# server-side prepared statements so that PgBouncer in transaction mode works.
CONNECTION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "row_factory": dict_row,
    "prepare_threshold": None,
}
# A connection is waited for at most this long: a lost database fails a command within
# seconds instead of chaining 30 s pool timeouts (the runner retries a step meanwhile).
POOL_TIMEOUT_S = 3.0
# Held (session-level) by whoever sets up schemas: Chimera's migrations, LangGraph's
# checkpointer and store. Distinct from the migrations' own transaction lock.
SCHEMA_LOCK_ID = 0x43_48_53_55  # "CHSU"


def open_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> Pool:
    """A pool that checks each connection as it hands it out, so connections a restarted
    server dropped are replaced instead of failing the next query."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=CONNECTION_KWARGS,
        open=False,
        timeout=POOL_TIMEOUT_S,
        check=AsyncConnectionPool.check_connection,
    )


SCHEMA_LOCK_POLL_S = 0.05


@asynccontextmanager
async def schema_lock(pool: Pool) -> AsyncIterator[None]:
    """Serialises schema setup across processes (LangGraph's setup() takes no lock)."""
    async with pool.connection() as conn:
        # Poll, never block: a backend waiting inside pg_advisory_lock holds a snapshot,
        # and the CREATE INDEX CONCURRENTLY in LangGraph's setup() waits for every older
        # snapshot to end, so holder and waiter would wait on each other for ever,
        # unseen by PostgreSQL's deadlock detector.
        while True:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (SCHEMA_LOCK_ID,))
            row = await cur.fetchone()
            if row is not None and row["locked"]:
                break
            await asyncio.sleep(SCHEMA_LOCK_POLL_S)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_ID,))


@dataclass
class Database:
    url: str
    pool: Pool
    checkpointer: AsyncPostgresSaver
    embedded: bool

    @classmethod
    async def open(cls, settings: Settings | None = None, *, max_size: int = 8) -> Database:
        settings = settings or Settings()
        embedded = settings.database_url is None
        if settings.database_url:
            url = settings.database_url
        else:
            server_uri = EmbeddedPostgres(settings.home).start()
            url = ensure_database(server_uri, settings.embedded_database)
        pool = open_pool(url, max_size=max_size)
        try:
            await pool.open(wait=True, timeout=10)
        except Exception as exc:  # the pool reports only a timeout; say where it tried
            await pool.close()
            where = "the embedded PostgreSQL" if embedded else "CHIMERA_DATABASE_URL"
            message = redact_text(f"cannot connect to {where}: {exc}", secret_values())
            raise ConfigError(message) from None
        # Secrets are masked in every checkpoint and checkpoint write (errors included).
        checkpointer = AsyncPostgresSaver(pool, serde=RedactingSerializer(secret_values()))
        async with schema_lock(pool):
            async with pool.connection() as conn:
                applied = await migrate(conn)
            if applied:
                log.info("applied migrations %s", applied)
            await checkpointer.setup()
        return cls(url=url, pool=pool, checkpointer=checkpointer, embedded=embedded)

    async def close(self) -> None:
        await self.pool.close(timeout=2.0)
