"""The review inbox: every pending interrupt across threads, read from the audit trail
in one paged query (a review requested, no decision yet, thread interrupted), each item's
judge signals and history, and decisions that resume that interrupt alone through the
runner. Also the async-review list: confirm or retract a post published at 0.7-0.9."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chimera.adapters.postgres.review_labels import pending_async_posts, record_outcome
from chimera.adapters.postgres.types import Pool
from chimera.adapters.postgres.users import User
from chimera.app.runner import Runner
from chimera.app.wiring import App
from chimera.domain.errors import InputError
from chimera.studio.logic.actions import actor_of, allow, record

PAGE_SIZE = 50

_PENDING = """
FROM chimera_audit r
JOIN chimera_threads t ON t.thread_id = r.thread_id AND t.status = 'interrupted'
WHERE r.event = 'review_requested'
  AND NOT EXISTS (
    SELECT 1 FROM chimera_audit d
    WHERE d.thread_id = r.thread_id AND d.task_id = r.task_id AND d.event = 'decided'
      AND d.payload->'attempt' = r.payload->'attempt')
"""


@dataclass(frozen=True)
class ItemRef:
    thread_id: str
    task_id: str
    attempt: int

    @property
    def key(self) -> str:
        return f"{self.thread_id}:{self.task_id}:{self.attempt}"


async def pending_reviews(
    pool: Pool, page: int = 0, size: int = PAGE_SIZE, persona: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    extra, params = ("AND t.persona_id = %s", [persona]) if persona else ("", [])
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) AS n {_PENDING} {extra}", params)
        count = await cur.fetchone()
        cur = await conn.execute(
            "SELECT r.thread_id, r.task_id, (r.payload->>'attempt')::int AS attempt,"
            " t.persona_id, t.goal, r.payload->>'text' AS text,"
            " (r.payload->>'confidence')::float AS confidence, r.payload->'flags' AS flags,"
            f" r.payload->'reasons' AS reasons, r.created_at {_PENDING} {extra}"
            " ORDER BY r.id DESC LIMIT %s OFFSET %s",
            [*params, size, max(page, 0) * size],
        )
        rows = await cur.fetchall()
    for row in rows:
        row["created_at"] = row["created_at"].isoformat(timespec="seconds")
    return rows, int(count["n"]) if count else 0


async def item_history(pool: Pool, ref: ItemRef) -> dict[str, Any]:
    """The judge's verdict (signals, reasons, flags) for this attempt, and every earlier
    attempt of the task with its draft, verdict and the reviewer's feedback."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT event, actor, payload, created_at FROM chimera_audit"
            " WHERE thread_id = %s AND task_id = %s ORDER BY id",
            (ref.thread_id, ref.task_id),
        )
        events = await cur.fetchall()
    attempts: dict[int, dict[str, Any]] = {}
    for e in events:
        n = int(e["payload"].get("attempt", 1))
        slot = attempts.setdefault(n, {"attempt": n})
        if e["event"] == "drafted":
            slot["draft"] = e["payload"].get("text")
            slot["feedback_given"] = e["payload"].get("feedback", "")
        elif e["event"] == "judged":
            slot["verdict"] = e["payload"].get("verdict")
        elif e["event"] == "decided":
            slot["decision"] = {k: e["payload"].get(k) for k in ("decision", "feedback", "text")}
            slot["decided_by"] = e["actor"]
    current = attempts.get(ref.attempt, {})
    return {
        "verdict": current.get("verdict"),
        "earlier": [attempts[n] for n in sorted(attempts) if n < ref.attempt],
        "events": [
            {"event": e["event"], "actor": e["actor"], "at": e["created_at"].isoformat()}
            for e in events
        ],
    }


def edit_diff(draft: str, edited: str) -> str:
    return "\n".join(
        difflib.unified_diff(
            draft.splitlines(), edited.splitlines(), "draft", "edited", lineterm=""
        )
    )


async def decide(
    runner: Runner,
    user: User,
    ref: ItemRef,
    decision: str,
    *,
    text: str | None = None,
    feedback: str | None = None,
) -> dict[str, Any]:
    """Resumes the one interrupt for (thread, task, attempt) through ``Runner.resume``,
    with the signed-in user as the reviewer."""
    allow(user, "resume")
    snapshot = await runner.graph.aget_state({"configurable": {"thread_id": ref.thread_id}})
    match = [
        i
        for i in snapshot.interrupts
        if isinstance(i.value, dict)
        and i.value.get("task_id") == ref.task_id
        and i.value.get("attempt") == ref.attempt
    ]
    if not match:
        raise InputError(
            f"{ref.task_id} (attempt {ref.attempt}) of thread {ref.thread_id} is not waiting "
            "on a review any more: someone decided it already"
        )
    return await runner.resume(
        ref.thread_id,
        match[0].id,
        decision,
        text=text,
        feedback=feedback,
        reviewer=user.name,
    )


async def decide_many(
    runner_for: Callable[[str], Awaitable[Runner]],
    user: User,
    refs: list[ItemRef],
    decision: str,
    feedback: str | None = None,
) -> list[dict[str, Any]]:
    """Bulk approve or reject: each item resumes alone, with its thread's runner; one
    failure does not stop the rest."""
    if decision not in ("approve", "reject"):
        raise InputError("bulk decisions are approve or reject")
    allow(user, "resume")
    outcomes = []
    for ref in refs:
        try:
            view = await decide(await runner_for(ref.thread_id), user, ref, decision,
                                feedback=feedback)  # fmt: skip
            outcomes.append({"item": ref.key, "ok": True, "status": view["status"]})
        except InputError as exc:
            outcomes.append({"item": ref.key, "ok": False, "error": str(exc)})
    return outcomes


async def async_review_list(
    pool: Pool, page: int = 0, size: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    return await pending_async_posts(pool, size, max(page, 0) * size)


async def confirm_post(app: App, user: User, post_id: str) -> None:
    allow(user, "review_posts")
    await record_outcome(app.db.pool, post_id, "confirm", actor_of(user), "")
    await record(app, user, "post_confirmed", payload={"post_id": post_id})


async def retract_post(app: App, user: User, post_id: str, reason: str) -> bool:
    """Unpublishes through the publisher, then stores the label; the label is written
    first-wins, so a second retraction of the same post is refused."""
    allow(user, "review_posts")
    if not reason.strip():
        raise InputError("say why the post is retracted")
    await record_outcome(app.db.pool, post_id, "retract", actor_of(user), reason.strip())
    retracted = await app.services.publisher.retract(post_id, reason.strip())
    await record(app, user, "post_retracted", payload={"post_id": post_id, "reason": reason})
    return retracted
