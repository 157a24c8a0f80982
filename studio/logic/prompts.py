"""The prompts page: versions kept in PostgreSQL, diffs, new versions, promotion, and
replays of a node on saved checkpoints with two versions side by side.

A replay reads a task's inputs (persona, task, the draft that was judged) from the
thread's checkpoints, runs the worker or the judge through the node's own function
(``write_draft``, ``judge_draft``) once per version, and scores each output with the
judge. It runs with ``replay_services``: its publisher refuses, its audit trail stays in
the process, so a replay never publishes and never writes to a thread."""

from __future__ import annotations

import difflib
from collections import Counter
from statistics import mean
from typing import Any

from langchain_core.runnables import RunnableConfig

from chimera.adapters.postgres.prompts import PromptStore, PromptVersion
from chimera.adapters.postgres.users import User
from chimera.app.run_settings import context_with
from chimera.app.runner import Runner
from chimera.app.wiring import App, replay_services
from chimera.domain.errors import InputError
from chimera.graphs.context import Context
from chimera.nodes.judge import judge_draft
from chimera.nodes.worker import write_draft
from chimera.studio.logic.actions import allow, record

REPLAYABLE = ("worker", "judge")
MAX_POINTS = 20


def diff(a: PromptVersion, b: PromptVersion) -> str:
    return "\n".join(
        difflib.unified_diff(
            a.text.splitlines(),
            b.text.splitlines(),
            f"{a.node}/v{a.version}",
            f"{b.node}/v{b.version}",
            lineterm="",
        )
    )


async def save_version(app: App, prompts: PromptStore, user: User, node: str, text: str) -> int:
    allow(user, "edit_prompts")
    saved = await prompts.save(node, text, user.name)
    await record(app, user, "prompt_saved", payload={"node": node, "version": saved.version})
    return saved.version


async def promote(app: App, prompts: PromptStore, user: User, node: str, version: int) -> None:
    allow(user, "edit_prompts")
    await prompts.promote(node, version, user.name)
    await record(app, user, "prompt_promoted", payload={"node": node, "version": version})


async def replay_points(runner: Runner, thread_ids: list[str]) -> list[dict[str, Any]]:
    """Where the worker ran: one point per task, read from the checkpoint at which the
    planner handed the tasks out, with the latest draft the judge saw for it."""
    points = []
    for thread_id in thread_ids:
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        latest = await runner.graph.aget_state(config)
        drafts = {r["task_id"]: r["text"] for r in latest.values.get("results", [])}
        fanned = None
        async for snap in runner.graph.aget_state_history(config):
            if "task" in snap.next and snap.values.get("tasks"):
                fanned = snap  # walk back to the first one: the planner's hand-out
        if fanned is None:
            continue
        for task in fanned.values["tasks"]:
            points.append(
                {
                    "thread_id": thread_id,
                    "checkpoint_id": fanned.config["configurable"]["checkpoint_id"],
                    "persona": fanned.values["persona"],
                    "task": task,
                    "draft": drafts.get(task["id"], ""),
                }
            )
    return points


async def replay(
    app: App,
    prompts: PromptStore,
    user: User,
    node: str,
    points: list[dict[str, Any]],
    version_a: int,
    version_b: int,
    base: Context | None = None,
) -> dict[str, Any]:
    allow(user, "replay")
    if node not in REPLAYABLE:
        raise InputError(f"replay runs {' or '.join(REPLAYABLE)} (got {node!r})")
    if not points:
        raise InputError("choose at least one saved checkpoint to replay")
    if len(points) > MAX_POINTS:
        raise InputError(f"at most {MAX_POINTS} checkpoints per replay (got {len(points)})")
    services = replay_services(app.services)
    base = base or Context()
    contexts = {
        v: await context_with(prompts, base, {node: v})
        for v in dict.fromkeys((version_a, version_b))
    }
    rows = []
    for point in points:
        row: dict[str, Any] = {
            "thread_id": point["thread_id"],
            "checkpoint_id": point["checkpoint_id"],
            "task_id": point["task"]["id"],
            "topic": point["task"]["topic"],
        }
        for label, version in (("a", version_a), ("b", version_b)):
            ctx = contexts[version]
            text = point["draft"]
            if node == "worker":
                drafted, _memory = await write_draft(
                    ctx, services, app.store, point["persona"], point["task"]
                )
                text = drafted.text
            if not text:
                raise InputError(f"no draft was judged for {point['task']['id']} to replay")
            judged = await judge_draft(
                ctx, services, app.store, point["persona"], point["task"], text,
                own_post=(point["thread_id"], point["task"]["id"]),
            )  # fmt: skip
            verdict = judged.verdict
            row[label] = {
                "version": version,
                "text": text,
                "confidence": verdict["confidence"],
                "route": verdict["route"],
                "flags": verdict["flags"],
                "reasons": verdict["reasons"],
            }
        rows.append(row)
    summary = {label: _summary([r[label] for r in rows]) for label in ("a", "b")}
    await record(
        app,
        user,
        "replayed",
        payload={"node": node, "versions": [version_a, version_b], "points": len(rows)},
    )
    return {"node": node, "rows": rows, "summary": summary}


def _summary(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": outputs[0]["version"],
        "mean_confidence": round(mean(o["confidence"] for o in outputs), 4),
        "routes": dict(Counter(o["route"] for o in outputs)),
        "flags": dict(Counter(f for o in outputs for f in o["flags"])),
    }
