"""What nodes ask of the outside world: publish a post, record an audit event.

Plain values: the interfaces that carry them out are named in ``chimera.graphs.services``
and implemented by the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
