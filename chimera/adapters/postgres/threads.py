"""The thread registry: which goals ran for which persona, and where each stands.

LangGraph's checkpoints hold the state; this table makes threads listable by
status without walking every checkpoint.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chimera.adapters.postgres.types import Pool

STATUSES = ("running", "interrupted", "completed", "failed")


class ThreadRegistry:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, thread_id: str) -> dict[str, Any] | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM chimera_threads WHERE thread_id = %s", (thread_id,))
            row = await cur.fetchone()
        return _iso(row) if row else None

    async def start(
        self, thread_id: str, persona_id: str, goal: str, models: dict[str, str]
    ) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO chimera_threads (thread_id, persona_id, goal, status, models)"
                " VALUES (%s, %s, %s, 'running', %s)",
                (thread_id, persona_id, goal, Jsonb(models)),
            )

    async def set_status(self, thread_id: str, status: str, error: str | None = None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE chimera_threads SET status = %s, error = %s, updated_at = now()"
                " WHERE thread_id = %s",
                (status, error, thread_id),
            )

    async def list(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        where, params = ("WHERE status = %s", (status, limit)) if status else ("", (limit,))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT * FROM chimera_threads {where} ORDER BY updated_at DESC LIMIT %s", params
            )
            rows = await cur.fetchall()
        return [_iso(r) for r in rows]


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
