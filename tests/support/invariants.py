"""The invariants every fault trial checks, read from the database itself.

- no post without an approving decision (a human one, recorded, for that task and attempt)
  or a gate decision (the judge routed that attempt to publish or async review);
- no decision lost: every recorded decision is applied, and what happened to its task at
  that attempt is what it said (approve/edit: published, edit with its text; reject:
  discarded; retry: not published at that attempt);
- no task lost: every planned task is published, discarded or waiting on a review;
- nothing published twice: at most one outbox row and one post per task.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
from psycopg.rows import dict_row


def _rows(conn: psycopg.Connection[Any], sql: str, *params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def check_thread(
    conn: psycopg.Connection[Any], thread_id: str, *, settled: bool = True
) -> list[str]:
    """The invariants broken on ``thread_id`` (empty when all hold). ``settled``: no
    command is running on the thread, so every recorded decision must be applied."""
    problems: list[str] = []
    outbox = _rows(conn, "SELECT * FROM chimera_outbox WHERE thread_id = %s", thread_id)
    posts = _rows(
        conn,
        "SELECT p.* FROM chimera_posts p JOIN chimera_outbox o ON o.id = p.outbox_id"
        " WHERE o.thread_id = %s",
        thread_id,
    )
    decisions = _rows(
        conn, "SELECT * FROM chimera_review_decisions WHERE thread_id = %s", thread_id
    )
    audit = _rows(conn, "SELECT * FROM chimera_audit WHERE thread_id = %s ORDER BY id", thread_id)
    by_attempt = {(d["task_id"], d["attempt"]): d for d in decisions}
    judged = {
        (a["task_id"], a["payload"]["attempt"]): a["payload"]["verdict"]["route"]
        for a in audit
        if a["event"] == "judged"
    }
    for row in outbox:
        key = (row["task_id"], row["attempt"])
        if row["review"] == "human":
            decision = by_attempt.get(key)
            if decision is None or decision["kind"] not in ("approve", "edit"):
                problems.append(f"post {key} published by a human without an approving decision")
            elif decision["kind"] == "edit" and row["text"] != decision["decision"]["text"]:
                problems.append(f"post {key} is not the reviewer's edit")
        elif judged.get(key) not in ("publish", "async_review"):
            problems.append(f"post {key} published with no gate decision ({judged.get(key)})")
    twice = [k for k, n in Counter(r["task_id"] for r in outbox).items() if n > 1]
    if twice:
        problems.append(f"published twice: {twice}")
    if len(posts) != len(outbox):
        problems.append(f"{len(outbox)} outbox rows but {len(posts)} posts")
    published = {(r["task_id"], r["attempt"]) for r in outbox}
    discarded = {
        (a["task_id"], a["payload"]["attempt"]) for a in audit if a["event"] == "discarded"
    }
    for d in decisions:
        key = (d["task_id"], d["attempt"])
        if settled and d["state"] != "applied":
            problems.append(f"decision {d['kind']} on {key} recorded but never applied")
            continue
        if d["state"] != "applied":
            continue
        if d["kind"] in ("approve", "edit") and key not in published:
            problems.append(f"decision {d['kind']} on {key} lost: not published")
        if d["kind"] in ("reject", "retry") and key in published:
            problems.append(f"decision {d['kind']} on {key} lost: published anyway")
        if d["kind"] == "reject" and key not in discarded:
            problems.append(f"decision reject on {key} lost: not discarded")
    recorded = {
        a["payload"]["interrupt_id"]
        for a in audit
        if a["event"] == "decision_attempted" and a["payload"]["outcome"] == "recorded"
    }
    missing = recorded - {d["interrupt_id"] for d in decisions}
    if missing:
        problems.append(f"decisions in the audit but not in the record: {missing}")
    planned = [a for a in audit if a["event"] == "planned"]
    if planned and settled:
        tasks = {t["id"] for t in planned[0]["payload"]["tasks"]}
        finished = {k[0] for k in published} | {k[0] for k in discarded}
        waiting = {a["task_id"] for a in audit if a["event"] == "review_requested"} - finished
        lost = tasks - finished - waiting
        if lost:
            problems.append(f"tasks lost (neither published, discarded nor waiting): {lost}")
    return problems
