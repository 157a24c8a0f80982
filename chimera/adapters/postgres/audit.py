"""The audit trail in PostgreSQL: every node run, verdict and human decision, with actor
and time. Secrets are masked before anything is written."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chimera.adapters.postgres.types import Pool
from chimera.domain.effects import AuditEvent
from chimera.domain.redaction import redact


class PostgresAuditLog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def record(self, event: AuditEvent) -> None:
        event = redact(event)
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO chimera_audit (thread_id, task_id, event, actor, payload, dedupe_key)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    event.thread_id,
                    event.task_id,
                    event.event,
                    event.actor,
                    Jsonb(event.payload),
                    event.dedupe_key,
                ),
            )


async def read_audit(pool: Pool, thread_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, thread_id, task_id, event, actor, payload, created_at"
            " FROM chimera_audit WHERE thread_id = %s ORDER BY id",
            (thread_id,),
        )
        rows = await cur.fetchall()
    for row in rows:
        row["created_at"] = row["created_at"].isoformat()
    return rows
