"""Posts published under asynchronous review (the 0.7-0.9 band) and the outcome a
reviewer gives each: confirm or retract. Both are calibration labels."""

from __future__ import annotations

from typing import Any

from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import InputError

OUTCOMES = ("confirm", "retract")


async def pending_async_posts(pool: Pool, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Async-reviewed posts no reviewer has looked at yet, newest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT p.post_id, o.thread_id, o.task_id, o.attempt, o.persona_id, p.handle,"
            " p.platform, p.text, o.confidence, p.published_at FROM chimera_posts p"
            " JOIN chimera_outbox o ON o.id = p.outbox_id"
            " WHERE p.review_status = 'pending' ORDER BY p.published_at DESC, p.post_id"
            " LIMIT %s OFFSET %s",
            (limit, offset),
        )
        rows = await cur.fetchall()
    for row in rows:
        row["published_at"] = row["published_at"].isoformat()
    return rows


async def record_outcome(pool: Pool, post_id: str, outcome: str, actor: str, reason: str) -> None:
    """Marks a pending async-reviewed post confirmed (a retraction is marked by the
    publisher) and stores the label; a post already answered is an error."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be confirm or retract (got {outcome!r})")
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT o.thread_id, o.task_id, o.attempt, p.review FROM chimera_posts p"
            " JOIN chimera_outbox o ON o.id = p.outbox_id WHERE p.post_id = %s",
            (post_id,),
        )
        post = await cur.fetchone()
        if post is None:
            raise InputError(f"unknown post {post_id!r}")
        if post["review"] != "async":
            raise InputError(f"post {post_id} was not published under asynchronous review")
        cur = await conn.execute(
            "INSERT INTO chimera_review_labels (post_id, thread_id, task_id, attempt, outcome,"
            " actor, reason) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (post_id) DO NOTHING RETURNING post_id",
            (post_id, post["thread_id"], post["task_id"], post["attempt"], outcome, actor, reason),
        )
        if await cur.fetchone() is None:
            raise InputError(f"post {post_id} has been reviewed already")
        if outcome == "confirm":
            await conn.execute(
                "UPDATE chimera_posts SET review_status = 'confirmed' WHERE post_id = %s",
                (post_id,),
            )


async def list_labels(pool: Pool) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM chimera_review_labels ORDER BY created_at")
        return list(await cur.fetchall())
