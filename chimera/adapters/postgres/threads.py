"""The thread registry: which goals ran for which persona, where each stands, and which
process drives it now (a lease renewed by heartbeat).

LangGraph's checkpoints hold the state; this table makes threads listable by
status without walking every checkpoint. A thread marked ``running`` whose lease
ran out is shown as ``stalled``: the process driving it died.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chimera.adapters.postgres.types import Pool

STATUSES = ("running", "interrupted", "completed", "failed", "stalled")

# The status people see: a running thread without a live lease has no process behind it.
_SELECT = (
    "SELECT thread_id, persona_id, goal, models, error, created_at, updated_at,"
    " lease_owner, lease_expires_at, checkpoints_pruned_at,"
    " CASE WHEN status = 'running'"
    " AND (lease_expires_at IS NULL OR lease_expires_at < now())"
    " THEN 'stalled' ELSE status END AS status"
    " FROM chimera_threads"
)


class ThreadRegistry:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def get(self, thread_id: str) -> dict[str, Any] | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"{_SELECT} WHERE thread_id = %s", (thread_id,))
            row = await cur.fetchone()
        return _iso(row) if row else None

    async def start(
        self,
        thread_id: str,
        persona_id: str,
        goal: str,
        models: dict[str, str],
        *,
        owner: str | None = None,
        lease_seconds: float = 0.0,
    ) -> None:
        """Registers a new thread, its lease already held by ``owner`` (if given)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO chimera_threads (thread_id, persona_id, goal, status, models,"
                " lease_owner, lease_expires_at)"
                " VALUES (%s, %s, %s, 'running', %s, %s, now() + make_interval(secs => %s))",
                (thread_id, persona_id, goal, Jsonb(models), owner, lease_seconds),
            )

    async def acquire(self, thread_id: str, owner: str, lease_seconds: float) -> str | None:
        """Takes the thread's lease if it is free, expired or already ours. Returns None on
        success, else the live owner that holds it."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "UPDATE chimera_threads SET lease_owner = %s,"
                " lease_expires_at = now() + make_interval(secs => %s)"
                " WHERE thread_id = %s AND (lease_owner IS NULL OR lease_owner = %s"
                " OR lease_expires_at IS NULL OR lease_expires_at < now())"
                " RETURNING thread_id",
                (owner, lease_seconds, thread_id, owner),
            )
            if await cur.fetchone() is not None:
                return None
            await cur.execute(
                "SELECT lease_owner FROM chimera_threads WHERE thread_id = %s", (thread_id,)
            )
            row = await cur.fetchone()
        return str(row["lease_owner"]) if row else "nobody (unknown thread)"

    async def take_over(
        self, thread_id: str, dead_owner: str, owner: str, lease_seconds: float
    ) -> bool:
        """Takes the lease from ``dead_owner`` (a holder known to be dead) if it still
        holds it; False when someone else got there first."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "UPDATE chimera_threads SET lease_owner = %s,"
                " lease_expires_at = now() + make_interval(secs => %s)"
                " WHERE thread_id = %s AND lease_owner = %s RETURNING thread_id",
                (owner, lease_seconds, thread_id, dead_owner),
            )
            return await cur.fetchone() is not None

    async def heartbeat(self, thread_id: str, owner: str, lease_seconds: float) -> bool:
        """Extends our lease; False when it is no longer ours. Waits briefly for a
        connection: a heartbeat that cannot get one is how a lost database shows."""
        async with self._pool.connection(timeout=1.5) as conn:
            cur = await conn.execute(
                "UPDATE chimera_threads SET lease_expires_at = now() + make_interval(secs => %s)"
                " WHERE thread_id = %s AND lease_owner = %s",
                (lease_seconds, thread_id, owner),
            )
            return cur.rowcount == 1

    async def release(self, thread_id: str, owner: str) -> None:
        # Briefly: on the way out after a lost database, the lease simply runs out instead.
        async with self._pool.connection(timeout=1.0) as conn:
            await conn.execute(
                "UPDATE chimera_threads SET lease_owner = NULL, lease_expires_at = NULL"
                " WHERE thread_id = %s AND lease_owner = %s",
                (thread_id, owner),
            )

    async def set_status(self, thread_id: str, status: str, error: str | None = None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE chimera_threads SET status = %s, error = %s, updated_at = now()"
                " WHERE thread_id = %s",
                (status, error, thread_id),
            )

    async def set_models(self, thread_id: str, models: dict[str, str]) -> None:
        """The models that run the thread from now on (a thread continued under another)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE chimera_threads SET models = %s WHERE thread_id = %s",
                (Jsonb(models), thread_id),
            )

    async def list(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = f"SELECT * FROM ({_SELECT}) AS t"
        where, params = (" WHERE status = %s", (status, limit)) if status else ("", (limit,))
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(f"{query}{where} ORDER BY updated_at DESC LIMIT %s", params)
            rows = await cur.fetchall()
        return [_iso(r) for r in rows]


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
