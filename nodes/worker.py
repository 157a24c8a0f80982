"""Worker: writes one task's draft in the persona's voice, through the run's executor
(in this process, or on the swarm's workers); a task the swarm could not draft comes
back as a critical failure, which goes to a reviewer."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from chimera.domain.hygiene import clean
from chimera.domain.memory import Recollection
from chimera.domain.swarm import (
    DraftJob,
    DraftOutcome,
    critical_failure_verdict,
    drafted,
    job_id_for,
)
from chimera.domain.types import Persona, Task
from chimera.graphs.context import Context
from chimera.graphs.memory.recall import count_posts_on, recall
from chimera.graphs.prompts import worker_messages
from chimera.graphs.runtime import audit, services_of, thread_id_of
from chimera.graphs.schemas import Draft
from chimera.graphs.services import Services
from chimera.graphs.state import TaskState
from chimera.graphs.structured import structured_call


async def write_draft(
    ctx: Context,
    services: Services,
    store: BaseStore | None,
    persona: Persona,
    task: Task,
    feedback: str = "",
) -> tuple[Draft, Recollection]:
    """The worker node's whole work, callable outside the graph (evals): recall what the
    persona knows and has posted on the task, then draft in its voice."""
    model = services.chat_model(ctx.worker_model, ctx.model_timeout_s)
    memory = await recall(store, persona["id"], f"{task['topic']}: {task['brief']}")
    posted = await count_posts_on(store, persona["id"], task["topic"])
    messages = worker_messages(
        ctx.worker_prompt, persona, task, feedback, ctx.disclosure_label, memory, posted
    )
    # Invisible characters stay in: the worker node removes and flags them, and a judge
    # outside the graph (evals, replays) sees them as a reader's model would.
    draft = await structured_call(model, Draft, messages, node="worker", keep_hidden=True)
    return draft, memory


def job_for(
    ctx: Context, thread_id: str, persona: Persona, task: Task, attempt: int, feedback: str
) -> DraftJob:
    """One attempt at one task as a job an executor can hand to any worker."""
    return DraftJob(
        job_id=job_id_for(thread_id, task["id"], attempt),
        thread_id=thread_id,
        persona=persona,
        task=task,
        attempt=attempt,
        feedback=feedback,
        worker_model=ctx.worker_model,
        worker_prompt=ctx.worker_prompt,
        disclosure_label=ctx.disclosure_label,
        model_timeout_s=ctx.model_timeout_s,
    )


def context_of_job(job: DraftJob, services: Services) -> Context:
    """The run's worker settings, as the job carries them (a worker's own environment
    does not retune a run it serves)."""
    ctx = Context(services=services)
    ctx.worker_model = job["worker_model"]
    ctx.worker_prompt = job["worker_prompt"]
    ctx.disclosure_label = job["disclosure_label"]
    ctx.model_timeout_s = job["model_timeout_s"]
    return ctx


async def run_job(
    ctx: Context, services: Services, store: BaseStore | None, job: DraftJob, worker: str
) -> DraftOutcome:
    """What any worker does with a job, in the graph process or in ``chimera worker``."""
    draft, memory = await write_draft(
        ctx, services, store, job["persona"], job["task"], job["feedback"]
    )
    return drafted(job["job_id"], draft.text, draft.notes, memory.keys, worker)


async def worker(state: TaskState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    services = await services_of(runtime)
    task = state["task"]
    attempt = state.get("attempt") or 1
    feedback = state.get("feedback", "")
    job = job_for(ctx, thread_id_of(runtime), state["persona"], task, attempt, feedback)

    async def here(job: DraftJob) -> DraftOutcome:
        return await run_job(ctx, services, runtime.store, job, "in-process")

    outcome = await services.executor.run(job, here)
    if outcome["status"] == "failed":
        await audit(
            runtime,
            "task_failed",
            actor=f"worker:{outcome['worker']}",
            task_id=task["id"],
            payload={"attempt": attempt, "error": outcome["error"], "job_id": job["job_id"]},
            dedupe=f"{task['id']}:{attempt}:task_failed",
        )
        verdict = critical_failure_verdict(outcome["error"])
        return {"draft": "", "attempt": attempt, "failure": outcome["error"], "verdict": verdict}
    # Invisible characters are removed from what is stored and published, and flagged:
    # they are a known way to hide instructions from the people who read the text.
    cleaned = clean(outcome["text"], what="the draft")
    await audit(
        runtime,
        "drafted",
        actor=f"worker:{ctx.worker_model}",
        task_id=task["id"],
        payload={
            "attempt": attempt,
            "text": cleaned.text,
            "flags": cleaned.flags,
            "notes": outcome["notes"],
            "feedback": feedback,
            "recalled": outcome["recalled"],
            "drafted_by": outcome["worker"],
        },
        dedupe=f"{task['id']}:{attempt}:drafted",
    )
    return {"draft": cleaned.text, "draft_flags": cleaned.flags, "attempt": attempt, "failure": ""}
