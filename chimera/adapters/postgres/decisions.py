"""Reviewers' decisions in PostgreSQL: one row per (thread, interrupt), first writer wins."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chimera.adapters.postgres.types import Pool
from chimera.domain.decisions import RecordedDecision
from chimera.domain.types import Decision


def _row(row: dict[str, Any]) -> RecordedDecision:
    return RecordedDecision(
        thread_id=row["thread_id"],
        interrupt_id=row["interrupt_id"],
        task_id=row["task_id"],
        attempt=row["attempt"],
        decision=row["decision"],
        state=row["state"],
        decided_at=row["decided_at"].isoformat(),
    )


class PostgresDecisionLog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def record(
        self, thread_id: str, interrupt_id: str, task_id: str, attempt: int, decision: Decision
    ) -> tuple[RecordedDecision, bool]:
        """Records ``decision`` unless the interrupt already has one; returns the decision
        that stands and whether it is the one just given."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "INSERT INTO chimera_review_decisions"
                " (thread_id, interrupt_id, task_id, attempt, kind, reviewer, decision)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (thread_id, interrupt_id) DO NOTHING RETURNING *",
                (
                    thread_id,
                    interrupt_id,
                    task_id,
                    attempt,
                    decision["decision"],
                    decision.get("reviewer", "anonymous"),
                    Jsonb(dict(decision)),
                ),
            )
            inserted = await cur.fetchone()
            if inserted is not None:
                return _row(inserted), True
            await cur.execute(
                "SELECT * FROM chimera_review_decisions WHERE thread_id = %s AND interrupt_id = %s",
                (thread_id, interrupt_id),
            )
            existing = await cur.fetchone()
        assert existing is not None, "a conflicting row exists: decisions are never deleted"
        return _row(existing), False

    async def get(self, thread_id: str, interrupt_id: str) -> RecordedDecision | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT * FROM chimera_review_decisions WHERE thread_id = %s AND interrupt_id = %s",
                (thread_id, interrupt_id),
            )
            row = await cur.fetchone()
        return _row(row) if row else None

    async def unapplied(self, thread_id: str) -> list[RecordedDecision]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT * FROM chimera_review_decisions WHERE thread_id = %s AND state = 'recorded'"
                " ORDER BY decided_at",
                (thread_id,),
            )
            rows = await cur.fetchall()
        return [_row(r) for r in rows]

    async def mark_applied(self, thread_id: str, interrupt_ids: list[str]) -> None:
        if not interrupt_ids:
            return
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE chimera_review_decisions SET state = 'applied', applied_at = now()"
                " WHERE thread_id = %s AND interrupt_id = ANY(%s) AND state = 'recorded'",
                (thread_id, interrupt_ids),
            )
