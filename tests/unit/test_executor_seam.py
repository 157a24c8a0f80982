"""The executor seam: jobs and outcomes as JSON, the in-process default, and a task the
swarm could not draft routed to a reviewer as a critical failure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.persona_files import load_persona
from chimera.domain.swarm import (
    CRITICAL_FAILURE,
    DraftJob,
    DraftOutcome,
    MalformedMessage,
    decode_job,
    decode_outcome,
    encode_job,
    encode_outcome,
    failed,
    job_id_for,
)
from chimera.graphs.context import Context
from chimera.graphs.services import DraftFn, InProcessExecutor, Services
from chimera.graphs.swarm import builder
from chimera.nodes.worker import job_for

GOAL = "posts on: thrifting and capsule wardrobes"


def _job() -> DraftJob:
    return job_for(Context(), "th-1", load_persona("ava"), _task(), 1, "")


def _task() -> Any:
    return {"id": "t1", "kind": "post", "topic": "thrifting", "brief": "why thrift"}


def test_job_ids_are_stable_per_thread_task_and_attempt() -> None:
    assert job_id_for("th-1", "t1", 1) == job_id_for("th-1", "t1", 1)
    ids = {job_id_for("th-1", "t1", 1), job_id_for("th-1", "t1", 2),
           job_id_for("th-2", "t1", 1), job_id_for("th-1", "t2", 1)}  # fmt: skip
    assert len(ids) == 4
    # No ambiguity from joining: ("a:b", "c") and ("a", "b:c") differ.
    assert job_id_for("a:b", "c", 1) != job_id_for("a", "b:c", 1)


def test_jobs_and_outcomes_round_trip_and_malformed_ones_are_refused() -> None:
    job = _job()
    assert decode_job(encode_job(job)) == job
    outcome = failed(job["job_id"], "boom", "w1")
    assert decode_outcome(encode_outcome(outcome)) == outcome
    for raw in ["not json", "{}", '{"job_id": 3}', encode_outcome(outcome)]:
        with pytest.raises(MalformedMessage, match="not a draft job"):
            decode_job(raw)
    broken = encode_job(job).replace('"attempt":1', '"attempt":"1"')
    with pytest.raises(MalformedMessage, match="attempt"):
        decode_job(broken)


async def test_the_in_process_executor_runs_the_local_function() -> None:
    job = _job()
    seen: list[str] = []

    async def local(j: DraftJob) -> DraftOutcome:
        seen.append(j["job_id"])
        return failed(j["job_id"], "x", "here")

    assert (await InProcessExecutor().run(job, local))["worker"] == "here"
    assert seen == [job["job_id"]]


class FailingOnce:
    """Reports a critical failure for every first attempt, then drafts here."""

    def __init__(self) -> None:
        self.jobs: list[DraftJob] = []

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        self.jobs.append(job)
        if job["attempt"] == 1:
            return failed(job["job_id"], "dead-lettered after 3 deliveries", "swarm")
        return await local(job)


async def test_a_critical_failure_interrupts_for_review_and_a_retry_drafts_again() -> None:
    executor = FailingOnce()
    publisher = InMemoryPublisher()
    services = Services(
        publisher=publisher,
        audit=InMemoryAuditLog(),
        chat_model=load_chat_model,
        executor=executor,
    )
    context = replace(Context(), services=services)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "th-crit"}}
    await graph.ainvoke({"persona": load_persona("ava"), "goal": GOAL}, config, context=context)
    state = await graph.aget_state(config)
    assert state.interrupts, "a critical failure must wait for a reviewer"
    for item in state.interrupts:
        assert item.value["flags"] == [CRITICAL_FAILURE]
        assert item.value["text"] == ""
        assert "dead-lettered" in item.value["reasons"][0]
    assert publisher.posts == {}
    resume = {i.id: {"decision": "retry", "feedback": "try again"} for i in state.interrupts}
    await graph.ainvoke(Command(resume=resume), config, context=context)
    after = await graph.aget_state(config)
    attempts = sorted((j["task"]["id"], j["attempt"]) for j in executor.jobs)
    tasks = sorted({t for t, _ in attempts})
    assert attempts == sorted([(t, 1) for t in tasks] + [(t, 2) for t in tasks])
    # The second attempts were drafted and judged: none is a critical failure any more.
    assert all(CRITICAL_FAILURE not in i.value["flags"] for i in after.interrupts)
    assert {r["task_id"] for r in after.values["results"]} == set(tasks)
