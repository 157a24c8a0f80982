"""Opens Chimera's PostgreSQL: external from CHIMERA_DATABASE_URL, or the embedded one.
Applies migrations and sets up LangGraph's checkpoint tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from chimera.adapters.embedded_postgres.server import EmbeddedPostgres, ensure_database
from chimera.adapters.postgres.migrate import migrate
from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import ConfigError
from chimera.settings import Settings

log = logging.getLogger("chimera.postgres")

# What PostgresSaver needs from its connections (autocommit, dict rows), and no
# server-side prepared statements so that PgBouncer in transaction mode works.
CONNECTION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "row_factory": dict_row,
    "prepare_threshold": None,
}


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
        pool: Pool = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=CONNECTION_KWARGS, open=False
        )
        try:
            await pool.open(wait=True, timeout=15)
        except Exception as exc:  # the pool reports only a timeout; say where it tried
            await pool.close()
            where = "the embedded PostgreSQL" if embedded else "CHIMERA_DATABASE_URL"
            raise ConfigError(f"cannot connect to {where}: {exc}") from exc
        async with pool.connection() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("applied migrations %s", applied)
        checkpointer = AsyncPostgresSaver(pool)
        await checkpointer.setup()
        return cls(url=url, pool=pool, checkpointer=checkpointer, embedded=embedded)

    async def close(self) -> None:
        await self.pool.close()
