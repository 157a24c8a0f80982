"""The collaborators nodes receive through ``runtime.context.services``.

Nodes never reach for globals: publishing, the audit trail and chat models are
handed in, so the runner can wire PostgreSQL, tests can wire memory, and a
Redis executor or an MCP publisher can replace one piece without touching nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel


@dataclass(frozen=True)
class PublishRequest:
    """A post that passed the gate, addressed to one platform."""

    thread_id: str
    task_id: str
    attempt: int
    persona_id: str
    handle: str
    platform: str
    text: str
    review: str
    confidence: float

    @property
    def idempotency_key(self) -> str:
        # Keyed by thread, task and attempt: a replayed or resumed publish node
        # presents the same key and gets the same post back.
        return f"{self.thread_id}:{self.task_id}:{self.attempt}"


@dataclass(frozen=True)
class PublishReceipt:
    post_id: str
    platform: str
    created: bool  # False when the idempotency key had already published


class Publisher(Protocol):
    async def publish(self, request: PublishRequest) -> PublishReceipt: ...


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit trail: who did what, to which thread and task."""

    thread_id: str
    event: str
    actor: str
    task_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # Events written above an interrupt() run again on every resume; a dedupe
    # key makes the second write a no-op.
    dedupe_key: str | None = None


class AuditLog(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


ChatModelLoader = Callable[[str, float], BaseChatModel]


class PairScorer(Protocol):
    """Entailment / neutral / contradiction probabilities for (utterance, statement) pairs."""

    def predict_proba(self, pairs: list[tuple[str, str]]) -> Any: ...


@dataclass
class Services:
    publisher: Publisher
    audit: AuditLog
    chat_model: ChatModelLoader
    # The persona-consistency scorer; None leaves the judge with its lexical checks.
    consistency: PairScorer | None = None

    @classmethod
    def in_memory(cls) -> Services:
        from chimera.consistency import get_scorer
        from chimera.inmemory import InMemoryAuditLog, InMemoryPublisher
        from chimera.models.factory import load_chat_model

        return cls(
            publisher=InMemoryPublisher(),
            audit=InMemoryAuditLog(),
            chat_model=load_chat_model,
            consistency=get_scorer(),
        )
