"""Publishing through the outbox to the sandbox platform, inside Chimera's database.

The outbox row and the delivered post are written in one statement; the
outbox's unique idempotency key (thread:task:attempt) makes a replay return
the post already made. Real platforms will drain the outbox over MCP instead.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from chimera.adapters.postgres.types import Pool
from chimera.domain.effects import PublishReceipt, PublishRequest
from chimera.domain.errors import InputError

_REVIEW_STATUS = {"none": "none", "async": "pending", "human": "approved"}


class SandboxPublisher:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        # One statement (one round trip, atomic under autocommit): the outbox row, the
        # post delivered from it, and the row marked delivered; a replay inserts nothing.
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """
                WITH outbox AS (
                    INSERT INTO chimera_outbox (idempotency_key, thread_id, task_id, attempt,
                        persona_id, handle, platform, text, review, confidence, status,
                        delivered_at)
                    VALUES (%(key)s, %(thread)s, %(task)s, %(attempt)s, %(persona)s,
                        %(handle)s, %(platform)s, %(text)s, %(review)s, %(confidence)s,
                        'delivered', now())
                    ON CONFLICT (idempotency_key) DO NOTHING
                    RETURNING id
                )
                INSERT INTO chimera_posts (post_id, outbox_id, platform, handle, text, review,
                    review_status)
                SELECT 'sbx-' || id, id, %(platform)s, %(handle)s, %(text)s, %(review)s,
                    %(status)s
                FROM outbox
                RETURNING post_id
                """,
                {
                    "key": request.idempotency_key, "thread": request.thread_id,
                    "task": request.task_id, "attempt": request.attempt,
                    "persona": request.persona_id, "handle": request.handle,
                    "platform": request.platform, "text": request.text,
                    "review": request.review, "confidence": request.confidence,
                    "status": _REVIEW_STATUS[request.review],
                },
            )  # fmt: skip
            row = await cur.fetchone()
            if row is not None:
                return PublishReceipt(post_id=row["post_id"], platform=request.platform,
                                      created=True)  # fmt: skip
            # A replay: the key's post was made before (its own statement sees it, even
            # when a concurrent twin committed it while this one waited on the key).
            cur = await conn.execute(
                "SELECT p.post_id FROM chimera_outbox o JOIN chimera_posts p"
                " ON p.outbox_id = o.id WHERE o.idempotency_key = %s",
                (request.idempotency_key,),
            )
            existing = await cur.fetchone()
        assert existing is not None, "an outbox row is always delivered in its statement"
        return PublishReceipt(post_id=existing["post_id"], platform=request.platform, created=False)

    async def retract(self, post_id: str, reason: str) -> bool:
        """Takes the post off the sandbox platform (kept, marked retracted, for the record)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE chimera_posts SET review_status = 'retracted', retracted_at = now()"
                " WHERE post_id = %s AND review_status <> 'retracted' RETURNING post_id",
                (post_id,),
            )
            if await cur.fetchone() is not None:
                return True
            cur = await conn.execute("SELECT 1 FROM chimera_posts WHERE post_id = %s", (post_id,))
            if await cur.fetchone() is None:
                raise InputError(f"unknown post {post_id!r}")
        return False


async def list_posts(pool: Pool, thread_id: str | None = None) -> list[dict[str, Any]]:
    """Published posts, newest first, with where they came from and their review status."""
    where, params = ("WHERE o.thread_id = %s", (thread_id,)) if thread_id else ("", ())
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.post_id, o.thread_id, o.task_id, o.attempt, o.persona_id, p.handle,"
            " p.platform, p.text, p.review, p.review_status, o.confidence,"
            " p.published_at FROM chimera_posts p JOIN chimera_outbox o ON o.id = p.outbox_id "
            f"{where} ORDER BY p.published_at DESC, p.post_id DESC",
            params,
        )
        rows = await cur.fetchall()
    for row in rows:
        row["published_at"] = row["published_at"].isoformat()
    return rows
