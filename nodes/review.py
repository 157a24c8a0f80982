"""Review: interrupts for a human decision on a result the gate would not publish alone.

A malformed answer (an unknown decision, an edit without text, a retry past the last
attempt, not a mapping) is answered with the same request plus an ``error`` saying what
was wrong: the interrupt asks again instead of failing the thread. (An interrupt keeps
the first value it was resumed with, so raising here would ruin the thread for good.)
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from chimera.domain.decisions import parse_decision, same_decision
from chimera.domain.errors import InputError
from chimera.domain.redaction import redact_value
from chimera.domain.types import Decision
from chimera.graphs.context import Context
from chimera.graphs.interrupts import interrupt_id_at
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.runtime import audit, services_of, thread_id_of
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
    answer, answered = await _ask(runtime, request, attempt, ctx.max_attempts)
    decision = await _standing(runtime, task["id"], attempt, answered, answer)
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


async def _standing(
    runtime: Runtime[Context], task_id: str, attempt: int, answered: int, answer: Decision
) -> Decision:
    """The decision that stands for this interrupt: the one recorded first. The CLI and the
    studio record theirs before they resume; an answer that came another way (LangGraph's
    server) is recorded here, so a resume cut short and answered again differently still
    applies the first decision, and every path keeps one record of who decided what."""
    decisions = (await services_of(runtime)).decisions
    interrupt_id = interrupt_id_at(runtime, answered)
    if decisions is None or interrupt_id is None:
        return answer
    thread_id = thread_id_of(runtime)
    standing, won = await decisions.record(thread_id, interrupt_id, task_id, attempt, answer)
    if not standing.is_for(task_id, attempt):
        return answer  # an earlier interrupt's record, under an id LangGraph gave again
    if not won and not same_decision(standing.decision, answer):
        await audit(
            runtime,
            "decision_overruled",
            actor=f"human:{answer.get('reviewer', 'anonymous')}",
            task_id=task_id,
            payload={
                "attempt": attempt,
                "interrupt_id": interrupt_id,
                **answer,
                "standing": standing.describe(),
            },
            dedupe=f"{task_id}:{attempt}:overruled:{interrupt_id}",
        )
    return standing.decision


async def _ask(
    runtime: Runtime[Context], request: dict[str, Any], attempt: int, max_attempts: int
) -> tuple[Decision, int]:
    """Interrupts until the answer is a valid decision; returns it with the number of
    answers refused before it. On every resume the node re-runs from its top and replays
    the earlier answers in order, so the refusals below repeat the same way and their
    audit events are deduplicated by their rank."""
    answer = interrupt(request)
    refused = 0
    while True:
        try:
            decision = parse_decision(answer, attempt=attempt, max_attempts=max_attempts)
            return decision, refused
        except InputError as exc:
            error = redact_value(str(exc))  # it quotes the answer, and is checkpointed
        refused += 1
        await audit(
            runtime,
            "decision_refused",
            actor="review",
            task_id=request["task_id"],
            payload={"attempt": attempt, "error": error},
            dedupe=f"{request['task_id']}:{attempt}:refused:{refused}",
        )
        answer = interrupt({**request, "error": error})
