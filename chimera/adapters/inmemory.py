"""In-process publisher and audit trail: for unit tests and graphs loaded by LangGraph's tools."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from chimera.domain.decisions import RecordedDecision
from chimera.domain.effects import AuditEvent, PublishReceipt, PublishRequest
from chimera.domain.errors import InputError
from chimera.domain.redaction import redact
from chimera.domain.types import Decision


class InMemoryPublisher:
    def __init__(self) -> None:
        self.posts: dict[str, PublishRequest] = {}
        self._ids: dict[str, str] = {}
        self.retracted: dict[str, str] = {}  # post id -> reason

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        key = request.idempotency_key
        if key in self._ids:
            return PublishReceipt(post_id=self._ids[key], platform=request.platform, created=False)
        post_id = f"mem-{len(self._ids) + 1}"
        self._ids[key] = post_id
        self.posts[post_id] = request
        return PublishReceipt(post_id=post_id, platform=request.platform, created=True)

    async def retract(self, post_id: str, reason: str) -> bool:
        if post_id not in self.posts and post_id not in self.retracted:
            raise InputError(f"unknown post {post_id!r}")
        if post_id in self.retracted:
            return False
        self.retracted[post_id] = reason
        del self.posts[post_id]
        return True


class RefusingPublisher:
    """For replays: a node run again to compare prompts must never reach a platform."""

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        raise PermissionError(f"replays never publish (asked for {request.idempotency_key})")

    async def retract(self, post_id: str, reason: str) -> bool:
        raise PermissionError("replays never retract")


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []
        self._keys: set[str] = set()

    async def record(self, event: AuditEvent) -> None:
        if event.dedupe_key is not None:
            if event.dedupe_key in self._keys:
                return
            self._keys.add(event.dedupe_key)
        self.events.append(redact(event))


class InMemoryDecisionLog:
    """Decisions kept in this process: one per (thread, interrupt), first writer wins."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], RecordedDecision] = {}

    async def record(
        self, thread_id: str, interrupt_id: str, task_id: str, attempt: int, decision: Decision
    ) -> tuple[RecordedDecision, bool]:
        key = (thread_id, interrupt_id)
        if key in self.rows:
            return self.rows[key], False
        self.rows[key] = RecordedDecision(
            thread_id=thread_id,
            interrupt_id=interrupt_id,
            task_id=task_id,
            attempt=attempt,
            decision=decision,
            state="recorded",
            decided_at=datetime.now(UTC).isoformat(),
        )
        return self.rows[key], True

    async def get(self, thread_id: str, interrupt_id: str) -> RecordedDecision | None:
        return self.rows.get((thread_id, interrupt_id))

    async def unapplied(self, thread_id: str) -> list[RecordedDecision]:
        return [d for (t, _i), d in self.rows.items() if t == thread_id and d.state == "recorded"]

    async def mark_applied(self, thread_id: str, interrupt_ids: list[str]) -> None:
        for interrupt_id in interrupt_ids:
            held = self.rows.get((thread_id, interrupt_id))
            if held is not None and held.state == "recorded":
                self.rows[(thread_id, interrupt_id)] = replace(held, state="applied")
