"""Retention: finished threads' checkpoints are deleted; posts, outbox, audit trail and
long-term memory stay. Safe while other threads run: only threads that are finished
(completed, no live lease) are touched, each re-checked under a row lock."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from chimera.adapters.postgres.types import Pool

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_writes", "checkpoint_blobs")
PRUNABLE = ("completed", "discarded")

# A completed thread none of whose tasks was published counts as discarded.
_CANDIDATES = (
    "SELECT t.thread_id FROM chimera_threads t"
    " WHERE t.status = 'completed' AND t.updated_at < now() - make_interval(days => %(days)s)"
    " AND t.checkpoints_pruned_at IS NULL"
    " AND (t.lease_expires_at IS NULL OR t.lease_expires_at < now())"
    " AND (%(kind)s <> 'discarded' OR NOT EXISTS"
    "  (SELECT 1 FROM chimera_outbox o WHERE o.thread_id = t.thread_id))"
)


async def checkpoint_bytes(pool: Pool, thread_ids: list[str]) -> int:
    """Bytes the rows of these threads take in LangGraph's checkpoint tables."""
    total = 0
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        for table in CHECKPOINT_TABLES:
            await cur.execute(
                f"SELECT coalesce(sum(pg_column_size(c.*)), 0) AS n FROM {table} c"
                " WHERE thread_id = ANY(%s)",
                (thread_ids,),
            )
            row = await cur.fetchone()
            total += int(row["n"]) if row else 0
    return total


async def prune_checkpoints(
    pool: Pool, *, older_than_days: float, kind: str = "all", dry_run: bool = False
) -> dict[str, Any]:
    """Deletes the checkpoints of finished threads older than ``older_than_days``;
    ``kind`` 'discarded' keeps to threads that published nothing; 'completed' or 'all'
    takes every completed thread."""
    params = {"days": older_than_days, "kind": kind}
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CANDIDATES, params)
        candidates = [r["thread_id"] for r in await cur.fetchall()]
    freed = await checkpoint_bytes(pool, candidates)
    if dry_run or not candidates:
        return {"threads": candidates, "bytes": freed, "dry_run": dry_run}
    pruned: list[str] = []
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT thread_id FROM chimera_threads WHERE thread_id = ANY(%s)"
            " AND status = 'completed' FOR UPDATE SKIP LOCKED",
            (candidates,),
        )
        pruned = [r["thread_id"] for r in await cur.fetchall()]
        for table in CHECKPOINT_TABLES:
            await conn.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%s)", (pruned,))
        await conn.execute(
            "UPDATE chimera_threads SET checkpoints_pruned_at = now() WHERE thread_id = ANY(%s)",
            (pruned,),
        )
    if len(pruned) != len(candidates):
        freed = freed - await checkpoint_bytes(pool, [t for t in candidates if t not in pruned])
    return {"threads": pruned, "bytes": freed, "dry_run": False}
