"""The prompts page: versions kept in PostgreSQL, diffs, new versions, promotion, and
replays of a node on saved checkpoints with two versions side by side.

A replay reads a task's inputs (persona, goal, task, the draft that was judged) from the
thread's checkpoints, runs the planner, the worker or the judge through the node's own
function (``make_plan``, ``write_draft``, ``judge_draft``) once per version, and scores
each output with the judge (a plan: each of its tasks drafted and judged). It runs with
``replay_services``: its publisher refuses, its audit trail stays in the process, so a
replay never publishes and never writes to a thread."""

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
from chimera.domain.types import Verdict
from chimera.graphs.context import Context
from chimera.graphs.services import Services
from chimera.nodes.judge import judge_draft
from chimera.nodes.planner import make_plan
from chimera.nodes.worker import write_draft
from chimera.studio.logic.actions import allow, record

REPLAYABLE = ("worker", "judge", "planner")
# The worst route of a replayed plan's drafts stands for the plan.
_SEVERITY = {"publish": 0, "async_review": 1, "review": 2}
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
                    "goal": fanned.values["goal"],
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
    if node == "planner":
        rows = [await _replay_plan(app, services, point, contexts, version_a, version_b)
                for point in _one_per_thread(points)]  # fmt: skip
    else:
        rows = [await _replay_task(app, services, node, point, contexts, version_a, version_b)
                for point in points]  # fmt: skip
    summary = {label: _summary([r[label] for r in rows]) for label in ("a", "b")}
    await record(
        app,
        user,
        "replayed",
        payload={"node": node, "versions": [version_a, version_b], "points": len(rows)},
    )
    return {"node": node, "rows": rows, "summary": summary}


def _one_per_thread(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The planner ran once a thread: one point of each thread (its goal and persona)."""
    return list({p["thread_id"]: p for p in points}.values())


def _output(version: int, text: str, verdict: Verdict) -> dict[str, Any]:
    return {
        "version": version,
        "text": text,
        "confidence": verdict["confidence"],
        "route": verdict["route"],
        "flags": verdict["flags"],
        "reasons": verdict["reasons"],
    }


async def _replay_plan(
    app: App,
    services: Services,
    point: dict[str, Any],
    contexts: dict[int, Context],
    version_a: int,
    version_b: int,
) -> dict[str, Any]:
    """Each version plans the thread's goal; every task it plans is drafted and judged
    (with the default worker and judge), and the plan's output is the tasks' topics, their
    mean confidence, the worst route and every flag."""
    row: dict[str, Any] = {"thread_id": point["thread_id"],
                           "checkpoint_id": point["checkpoint_id"], "task_id": "plan",
                           "topic": point["goal"]}  # fmt: skip
    for label, version in (("a", version_a), ("b", version_b)):
        ctx = contexts[version]
        tasks, left_out = await make_plan(ctx, services, point["persona"], point["goal"])
        verdicts = []
        for task in tasks:
            drafted, _memory = await write_draft(ctx, services, app.store, point["persona"], task)
            judged = await judge_draft(ctx, services, app.store, point["persona"], task,
                                       drafted.text)  # fmt: skip
            verdicts.append(judged.verdict)
        text = "; ".join(t["topic"] for t in tasks)
        if left_out:
            text += f" (left out: {', '.join(left_out)})"
        row[label] = {
            "version": version,
            "text": text,
            "confidence": round(mean(v["confidence"] for v in verdicts), 4),
            "route": max((v["route"] for v in verdicts), key=_SEVERITY.__getitem__),
            "flags": sorted({f for v in verdicts for f in v["flags"]}),
            "reasons": [
                f"{t['id']} {t['topic']}: {v['confidence']:.3f} -> {v['route']}"
                for t, v in zip(tasks, verdicts, strict=True)
            ],
        }
    return row


async def _replay_task(
    app: App,
    services: Services,
    node: str,
    point: dict[str, Any],
    contexts: dict[int, Context],
    version_a: int,
    version_b: int,
) -> dict[str, Any]:
    """The worker drafts the task anew with each version, or the judge judges the draft
    that was judged then with each version."""
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
        row[label] = _output(version, text, judged.verdict)
    return row


def _summary(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": outputs[0]["version"],
        "mean_confidence": round(mean(o["confidence"] for o in outputs), 4),
        "routes": dict(Counter(o["route"] for o in outputs)),
        "flags": dict(Counter(f for o in outputs for f in o["flags"])),
    }
