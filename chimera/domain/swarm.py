"""What travels between the graph and the swarm's workers: a draft job and its outcome.

A job is everything a worker needs to write one task's draft (persona, task, attempt,
feedback, and the run's worker model and prompt), as plain JSON. Its id is derived from
thread, task and attempt, so a graph process that restarts asks for the same job again
and re-attaches to it instead of creating another. An outcome is the draft, or a
critical failure (a job that failed too often, or could not be read), which the graph
sends to a reviewer.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from chimera.domain.errors import ChimeraError
from chimera.domain.types import Persona, Task, Verdict

CRITICAL_FAILURE = "critical_failure"


class DraftJob(TypedDict):
    job_id: str
    thread_id: str
    persona: Persona
    task: Task
    attempt: int
    feedback: str
    worker_model: str
    worker_prompt: str
    disclosure_label: str
    model_timeout_s: float


class DraftOutcome(TypedDict):
    job_id: str
    status: Literal["drafted", "failed"]
    text: str
    notes: str
    recalled: list[str]
    error: str
    worker: str  # who drafted it: "in-process" or a worker's name


class MalformedMessage(ChimeraError):
    """A message on a stream that is not a job or an outcome; the message says why."""


_JOB = TypeAdapter(DraftJob)
_OUTCOME = TypeAdapter(DraftOutcome)


def job_id_for(thread_id: str, task_id: str, attempt: int) -> str:
    """The same for every ask of one task's attempt in one thread, and only for it."""
    digest = hashlib.sha256(f"{thread_id}\x00{task_id}\x00{attempt}".encode()).hexdigest()
    return f"j-{digest[:24]}"


def encode_job(job: DraftJob) -> str:
    return _JOB.dump_json(job).decode()


def _decode(adapter: TypeAdapter[Any], raw: str | bytes, what: str) -> Any:
    try:
        return adapter.validate_json(raw, strict=True)
    except ValidationError as exc:
        raise MalformedMessage(f"not a {what}: {_first_error(exc)}") from None


def decode_job(raw: str | bytes) -> DraftJob:
    job: DraftJob = _decode(_JOB, raw, "draft job")
    return job


def encode_outcome(outcome: DraftOutcome) -> str:
    return _OUTCOME.dump_json(outcome).decode()


def decode_outcome(raw: str | bytes) -> DraftOutcome:
    outcome: DraftOutcome = _decode(_OUTCOME, raw, "draft outcome")
    return outcome


def drafted(job_id: str, text: str, notes: str, recalled: list[str], worker: str) -> DraftOutcome:
    return DraftOutcome(job_id=job_id, status="drafted", text=text, notes=notes,
                        recalled=recalled, error="", worker=worker)  # fmt: skip


def failed(job_id: str, error: str, worker: str) -> DraftOutcome:
    return DraftOutcome(job_id=job_id, status="failed", text="", notes="", recalled=[],
                        error=error, worker=worker)  # fmt: skip


def critical_failure_verdict(error: str) -> Verdict:
    """What the gate says about a task the swarm could not draft: a reviewer decides
    (retry it, write it by hand with edit, or reject it)."""
    return Verdict(
        confidence=0.0,
        signals=[],
        flags=[CRITICAL_FAILURE],
        route="review",
        reasons=[f"the task could not be drafted: {error}"],
    )


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    return f"{where}: {first['msg']}"
