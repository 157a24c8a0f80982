"""Summary: one line on what the goal produced, once every task has finished."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.graphs.context import Context
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.runtime import audit, thread_id_of
from chimera.graphs.state import State


def summarize(state: State) -> str:
    published = state.get("published", [])
    asynchronous = sum(p["review"] == "async" for p in published)
    human = sum(p["review"] == "human" for p in published)
    discarded = len(state.get("discarded", []))
    text = (
        f"{len(state.get('tasks', []))} tasks: {len(published)} published "
        f"({asynchronous} listed for async review, {human} approved by a reviewer), "
        f"{discarded} discarded"
    )
    left_out = state.get("left_out", [])
    if left_out:
        text += f"; {len(left_out)} topic(s) left out (over max_tasks): {', '.join(left_out)}"
    return text


def evolution_note(state: State) -> str:
    """How this goal moved the persona: what it published about, for later recall."""
    topics = {t["id"]: t["topic"] for t in state.get("tasks", [])}
    published = [topics.get(p["task_id"], p["task_id"]) for p in state.get("published", [])]
    rejected = [topics.get(d["task_id"], d["task_id"]) for d in state.get("discarded", [])]
    note = f"Goal: {state['goal']}. Published on: {', '.join(published) or 'nothing'}."
    if rejected:
        note += f" Reviewers rejected: {', '.join(rejected)}."
    return note


async def summary(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    text = summarize(state)
    if runtime.store is not None:
        # The persona evolves through these summaries; its facts stay as written.
        await runtime.store.aput(
            ns.summaries(state["persona"]["id"]),
            thread_id_of(runtime),
            {"text": evolution_note(state), "summary": text},
        )
    await audit(
        runtime, "completed", actor="chimera", payload={"summary": text}, dedupe="completed"
    )
    return {"summary": text}
