"""The interfaces of the collaborators nodes use, and the bundle that carries them.

Nodes never reach for globals: publishing, the audit trail and chat models are
handed in (``runtime.context.services``, built by ``chimera.app.wiring``), so the
runner wires PostgreSQL, tests wire memory, and a Redis executor or an MCP publisher
replaces one piece without touching nodes. Adapters implement these protocols.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from pydantic_core import core_schema

from chimera.domain.decisions import DecisionLog
from chimera.domain.effects import AuditEvent, PublishReceipt, PublishRequest
from chimera.domain.signals.detection import Detection
from chimera.domain.signals.detectors import run_detectors
from chimera.domain.signals.persona_consistency import PairScorer
from chimera.domain.swarm import DraftJob, DraftOutcome
from chimera.domain.types import Persona


class Publisher(Protocol):
    async def publish(self, request: PublishRequest) -> PublishReceipt: ...

    async def retract(self, post_id: str, reason: str) -> bool:
        """Unpublish a post; False when it was retracted already. Unknown ids raise."""
        ...


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


class PersonaSource(Protocol):
    async def load(self, ref: str) -> Persona:
        """The persona named by ``ref`` (an id or a path); PersonaError when there is none."""
        ...


class DraftDetectors(Protocol):
    def __call__(self, draft: str, *, language: str) -> list[Detection]:
        """One detection per detector over the draft alone, in a stable order."""
        ...


ChatModelLoader = Callable[[str, float], BaseChatModel]
DraftFn = Callable[[DraftJob], Awaitable[DraftOutcome]]


class TaskExecutor(Protocol):
    """Where a task's draft is written: in this process, or by the swarm's workers."""

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        """The outcome of ``job``. ``local`` writes it here, with this run's models and
        memory; a remote executor hands the job to workers that run the same function.
        Asked again for the same job id, an executor returns the same outcome."""
        ...


class InProcessExecutor:
    """The default: each task subgraph writes its own draft in the graph process."""

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        return await local(job)

    async def close(self) -> None:
        return None


@dataclass
class Services:
    publisher: Publisher
    audit: AuditLog
    chat_model: ChatModelLoader
    # The NLI pair scorer behind the persona-consistency signal; None leaves the judge
    # with its lexical checks.
    nli_scorer: PairScorer | None = None
    # The judge's detectors that read the draft alone (content, hidden text, toxicity,
    # personal data, spam, links, language).
    detectors: DraftDetectors = run_detectors
    # Resolves a run's persona given by id or path (LangGraph's server takes either).
    personas: PersonaSource | None = None
    # Runs the worker step: in-process by default; the Redis swarm with CHIMERA_REDIS_URL.
    executor: TaskExecutor = field(default_factory=InProcessExecutor)
    # Where reviewers' decisions are recorded, one per interrupt (PostgreSQL in production):
    # the review node records a decision that reached it without one (LangGraph's server)
    # and applies the recorded one when a rival answer arrives. None: not recorded.
    decisions: DecisionLog | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # Live objects: opaque to pydantic, so LangGraph's server can build Context's schema.
        return core_schema.is_instance_schema(cls)
