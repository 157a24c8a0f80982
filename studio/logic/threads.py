"""The threads page: a paged, filtered list (fast at 10,000 threads: one indexed query and
one count), a thread's graph with each task's current node, its checkpoints, the state
at each, and forks from a checkpoint with edited state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from chimera.adapters.postgres.threads import STATUSES
from chimera.adapters.postgres.types import Pool
from chimera.adapters.postgres.users import User
from chimera.app.runner import Runner
from chimera.app.wiring import App
from chimera.domain.errors import InputError
from chimera.studio.logic.actions import allow, record

PAGE_SIZE = 50


@dataclass(frozen=True)
class ThreadFilter:
    status: str | None = None
    persona: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    search: str = ""


async def list_threads(
    pool: Pool, filt: ThreadFilter, page: int = 0, size: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """One page of threads, newest first, and how many match in all."""
    if filt.status and filt.status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    where, params = _where(filt)
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT count(*) AS n FROM chimera_threads {where}", params)
        count = await cur.fetchone()
        cur = await conn.execute(
            "SELECT thread_id, persona_id, goal, status, models, error, created_at, updated_at"
            f" FROM chimera_threads {where} ORDER BY updated_at DESC, thread_id"
            " LIMIT %s OFFSET %s",
            [*params, size, max(page, 0) * size],
        )
        rows = await cur.fetchall()
    for row in rows:
        row["created_at"] = row["created_at"].isoformat(timespec="seconds")
        row["updated_at"] = row["updated_at"].isoformat(timespec="seconds")
    return rows, int(count["n"]) if count else 0


def _where(filt: ThreadFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filt.status:
        clauses.append("status = %s")
        params.append(filt.status)
    if filt.persona:
        clauses.append("persona_id = %s")
        params.append(filt.persona)
    if filt.since:
        clauses.append("created_at >= %s")
        params.append(filt.since)
    if filt.until:
        clauses.append("created_at < %s")
        params.append(filt.until + timedelta(days=1))
    if filt.search.strip():
        clauses.append("(goal ILIKE %s OR thread_id ILIKE %s)")
        like = "%" + filt.search.strip().replace("%", r"\%").replace("_", r"\_") + "%"
        params += [like, like]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


async def personas_seen(pool: Pool) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT DISTINCT persona_id FROM chimera_threads ORDER BY 1")
        return [r["persona_id"] for r in await cur.fetchall()]


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


async def current_nodes(runner: Runner, thread_id: str) -> dict[str, list[str]]:
    """Graph node id (as in ``get_graph(xray=True)``) -> the task ids standing there."""
    snapshot = await runner.graph.aget_state(_config(thread_id), subgraphs=True)
    marks: dict[str, list[str]] = {}
    for task in snapshot.tasks:
        sub = task.state
        if task.name == "task" and isinstance(sub, StateSnapshot):
            task_id = (sub.values.get("task") or {}).get("id", "?")
            for node in sub.next or ("__end__",):
                marks.setdefault(f"task:{node}", []).append(task_id)
        else:
            marks.setdefault(task.name, []).append("")
    if not snapshot.next:
        marks.setdefault("__end__", []).append("")
    return marks


def graph_dot(graph: CompiledStateGraph[Any, Any, Any, Any], marks: dict[str, list[str]]) -> str:
    """A Graphviz DOT text of the graph (subgraphs expanded), current nodes filled in:
    drawn by the browser, with no web service."""
    drawable = graph.get_graph(xray=True)
    lines = [
        "digraph chimera {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fillcolor=white,'
        ' fontname="Helvetica"];',
        '  subgraph cluster_task { label="task subgraph (one per task)"; style=dashed;',
    ]
    outside: list[str] = []
    for node_id, node in drawable.nodes.items():
        label = node.name
        here = [t for t in marks.get(node_id, []) if t]
        if here:
            label += "\\n" + ", ".join(sorted(here))
        fill = ', fillcolor="#ffd966"' if node_id in marks else ""
        decl = f'    "{node_id}" [label="{label}"{fill}];'
        (lines if node_id.startswith("task:") else outside).append(decl)
    lines.append("  }")
    lines += outside
    for edge in drawable.edges:
        style = " [style=dashed]" if edge.conditional else ""
        lines.append(f'  "{edge.source}" -> "{edge.target}"{style};')
    lines.append("}")
    return "\n".join(lines)


async def checkpoints(runner: Runner, thread_id: str) -> list[dict[str, Any]]:
    """The checkpoint timeline, newest first; a fork is a checkpoint written by an edit
    (source 'update'), and its branch is named by its parent."""
    rows = []
    async for snap in runner.graph.aget_state_history(_config(thread_id)):
        meta = snap.metadata or {}
        parent = (snap.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        rows.append(
            {
                "checkpoint_id": snap.config["configurable"]["checkpoint_id"],
                "parent_id": parent,
                "step": meta.get("step"),
                "source": meta.get("source"),
                "next": ", ".join(snap.next),
                "interrupts": len(snap.interrupts),
                "created_at": snap.created_at,
                "fork": meta.get("source") == "update",
            }
        )
    return rows


async def state_at(runner: Runner, thread_id: str, checkpoint_id: str) -> dict[str, Any]:
    snap = await runner.graph.aget_state(_config(thread_id, checkpoint_id))
    if not snap.values and snap.metadata is None:
        raise InputError(f"thread {thread_id} has no checkpoint {checkpoint_id}")
    return dict(snap.values)


EDITABLE = ("goal", "tasks")


async def fork(
    app: App, runner: Runner, user: User, thread_id: str, checkpoint_id: str, edits: dict[str, Any]
) -> dict[str, Any]:
    """Writes ``edits`` as a new checkpoint branching from ``checkpoint_id`` and runs the
    thread on from there (through the runner, as a continued thread). Only the goal and
    the tasks may be edited; a task already published under the same id and attempt is
    not published again (the publisher's idempotency key)."""
    allow(user, "fork")
    bad = [k for k in edits if k not in EDITABLE]
    if bad:
        raise InputError(f"only {', '.join(EDITABLE)} may be edited in a fork (got {bad})")
    if "tasks" in edits and not (
        isinstance(edits["tasks"], list)
        and all(isinstance(t, dict) and {"id", "kind", "topic", "brief"} <= t.keys()
                for t in edits["tasks"])
    ):  # fmt: skip
        raise InputError("tasks must be a list of {id, kind, topic, brief}")
    await state_at(runner, thread_id, checkpoint_id)
    new_config = await runner.graph.aupdate_state(
        _config(thread_id, checkpoint_id), edits, as_node="planner"
    )
    new_id = new_config["configurable"]["checkpoint_id"]
    await record(
        app,
        user,
        "forked",
        thread_id=thread_id,
        payload={"from": checkpoint_id, "checkpoint_id": new_id, "edited": sorted(edits)},
    )
    view = await runner.run(None, None, thread_id)
    return {"checkpoint_id": new_id, **view}
