"""Read-only pages: posts, the audit trail, personas and memory, eval runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.store.base import BaseStore

from chimera.adapters.persona_files import PERSONAS_DIR, SOUL_FILE, list_personas
from chimera.adapters.postgres.types import Pool
from chimera.adapters.postgres.users import User
from chimera.app.wiring import App
from chimera.domain.errors import InputError
from chimera.domain.personas import parse_persona
from chimera.domain.types import Persona
from chimera.evals.runs import compare_runs, list_runs
from chimera.graphs.memory import namespaces as ns
from chimera.studio.logic.actions import allow, record

POST_STATUSES = ("none", "pending", "approved", "reviewed", "confirmed", "retracted")
MEMORY_KINDS = {"facts": ns.facts, "posts": ns.posts, "interactions": ns.interactions,
                "summaries": ns.summaries}  # fmt: skip


async def posts(
    pool: Pool, review_status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    if review_status and review_status not in POST_STATUSES:
        raise InputError(f"review status must be one of {', '.join(POST_STATUSES)}")
    where, params = ("WHERE p.review_status = %s", [review_status]) if review_status else ("", [])
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT p.post_id, o.thread_id, o.task_id, o.persona_id, p.platform, p.text,"
            " p.review, p.review_status, o.confidence, p.published_at, p.retracted_at"
            " FROM chimera_posts p JOIN chimera_outbox o ON o.id = p.outbox_id "
            f"{where} ORDER BY p.published_at DESC, p.post_id DESC LIMIT %s",
            [*params, limit],
        )
        return list(await cur.fetchall())


async def audit_trail(
    pool: Pool,
    thread_id: str = "",
    actor: str = "",
    event: str = "",
    limit: int = 200,
) -> list[dict[str, Any]]:
    clauses, params = [], []
    for column, value in (("thread_id", thread_id), ("event", event)):
        if value.strip():
            clauses.append(f"{column} = %s")
            params.append(value.strip())
    if actor.strip():
        clauses.append("actor ILIKE %s")
        params.append("%" + actor.strip() + "%")
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, thread_id, task_id, event, actor, payload, created_at FROM chimera_audit "
            f"{where} ORDER BY id DESC LIMIT %s",
            [*params, limit],
        )
        return list(await cur.fetchall())


def personas() -> list[Persona]:
    return list_personas()


def soul_path(persona_id: str) -> Path:
    for folder_persona in list_personas():
        if folder_persona["id"] == persona_id:
            break
    else:
        raise InputError(f"unknown persona {persona_id!r}")
    return PERSONAS_DIR / persona_id / SOUL_FILE


def validate_soul(text: str, persona_id: str) -> Persona:
    """Raises a PersonaError naming the field or section that is wrong."""
    persona = parse_persona(text, f"{persona_id}/{SOUL_FILE}")
    if persona["id"] != persona_id:
        raise InputError(f"the id is {persona['id']!r}; this persona is {persona_id!r}")
    return persona


async def save_soul(app: App, user: User, persona_id: str, text: str, folder: Path) -> Path:
    """Validates, then writes ``folder/<id>/SOUL.md`` (``editable_personas_dir()``: the
    personas inside the installed package are read-only seeds)."""
    allow(user, "edit_personas")
    validate_soul(text, persona_id)
    target = folder / persona_id / SOUL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    await record(app, user, "persona_saved", payload={"persona": persona_id, "path": target.name})
    return target


async def search_memory(
    store: BaseStore | None, persona_id: str, kind: str, query: str, limit: int = 10
) -> list[dict[str, Any]]:
    if store is None:
        raise InputError("long-term memory is not open")
    if kind not in MEMORY_KINDS:
        raise InputError(f"memory kind must be one of {', '.join(MEMORY_KINDS)}")
    found = await store.asearch(MEMORY_KINDS[kind](persona_id), query=query or None, limit=limit)
    return [
        {"key": i.key, "score": i.score, "text": i.value.get("text", ""), **i.value} for i in found
    ]


async def recalled_by_worker(pool: Pool, thread_id: str) -> list[dict[str, Any]]:
    """What each worker recalled, from its 'drafted' audit events."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT task_id, payload->'attempt' AS attempt, payload->'recalled' AS recalled"
            " FROM chimera_audit WHERE thread_id = %s AND event = 'drafted' ORDER BY id",
            (thread_id,),
        )
        return list(await cur.fetchall())


async def eval_runs(pool: Pool) -> list[dict[str, Any]]:
    return await list_runs(pool)


def metric_series(runs: list[dict[str, Any]], suite: str) -> dict[str, dict[str, float]]:
    """Each numeric top-level metric of ``suite``'s runs, by the time each run finished
    (oldest first): what a line chart of the suite over time needs."""
    series: dict[str, dict[str, float]] = {}
    for run in sorted((r for r in runs if r["suite"] == suite), key=lambda r: r["finished_at"]):
        for name, value in (run.get("metrics") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault(name, {})[run["finished_at"]] = float(value)
    return series


def reliability_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The filled bins of a run's reliability diagram (``chimera eval gate``): mean
    confidence against the share of publish-labelled drafts, with the bin's count."""
    bins = (metrics.get("reliability") or {}).get("bins") or []
    return [
        {"confidence": b["confidence"], "publish_share": b["publish_share"], "count": b["count"]}
        for b in bins
        if b.get("count")
    ]


async def compare(pool: Pool, run_a: str, run_b: str) -> dict[str, Any]:
    return await compare_runs(pool, run_a, run_b)
