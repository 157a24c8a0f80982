"""Review: interrupts for a human decision on a result the gate would not publish alone."""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from chimera.domain.decisions import parse_decision
from chimera.graphs.context import Context
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.runtime import audit, thread_id_of
from chimera.graphs.state import TaskState


async def review(
    state: TaskState, runtime: Runtime[Context]
) -> Command[Literal["publish", "worker", "discard"]]:
    ctx = runtime.context
    task, verdict = state["task"], state["verdict"]
    attempt = state.get("attempt") or 1
    # Everything above interrupt() runs again on every resume of this step: it must be
    # idempotent (the audit write is deduplicated).
    request = {
        "task_id": task["id"],
        "attempt": attempt,
        "max_attempts": ctx.max_attempts,
        "text": state["draft"],
        "confidence": verdict["confidence"],
        "flags": verdict["flags"],
        "reasons": verdict["reasons"],
    }
    await audit(
        runtime,
        "review_requested",
        actor="gate",
        task_id=task["id"],
        payload=request,
        dedupe=f"{task['id']}:{attempt}:review_requested",
    )
    decision = parse_decision(interrupt(request), attempt=attempt, max_attempts=ctx.max_attempts)
    reviewer = decision.get("reviewer", "anonymous")
    await audit(
        runtime,
        "decided",
        actor=f"human:{reviewer}",
        task_id=task["id"],
        payload={"attempt": attempt, **decision},
        dedupe=f"{task['id']}:{attempt}:decided",
    )
    if runtime.store is not None:
        # Reviewer decisions are memory (and labels for calibration): keyed by thread, task
        # and attempt, so a re-run of this node writes the same item again.
        await runtime.store.aput(
            ns.interactions(state["persona"]["id"]),
            f"{thread_id_of(runtime)}:{task['id']}:{attempt}",
            {
                "text": decision.get("text") or state["draft"],
                "draft": state["draft"],
                "confidence": verdict["confidence"],
                "signals": [{"name": s["name"], "score": s["score"]} for s in verdict["signals"]],
                "flags": verdict["flags"],
                **decision,
            },
            index=False,
        )
    kind = decision["decision"]
    if kind == "approve":
        return Command(goto="publish", update={"review": "human", "reviewer": reviewer})
    if kind == "edit":
        return Command(
            goto="publish",
            update={"review": "human", "reviewer": reviewer, "draft": decision["text"]},
        )
    if kind == "retry":
        return Command(
            goto="worker",
            update={"attempt": attempt + 1, "feedback": decision.get("feedback", "")},
        )
    return Command(
        goto="discard", update={"reviewer": reviewer, "feedback": decision.get("feedback", "")}
    )
