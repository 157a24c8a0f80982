"""In-process publisher and audit trail: for unit tests and graphs loaded by LangGraph's tools."""

from __future__ import annotations

from chimera.domain.effects import AuditEvent, PublishReceipt, PublishRequest
from chimera.domain.redaction import redact


class InMemoryPublisher:
    def __init__(self) -> None:
        self.posts: dict[str, PublishRequest] = {}
        self._ids: dict[str, str] = {}

    async def publish(self, request: PublishRequest) -> PublishReceipt:
        key = request.idempotency_key
        if key in self._ids:
            return PublishReceipt(post_id=self._ids[key], platform=request.platform, created=False)
        post_id = f"mem-{len(self._ids) + 1}"
        self._ids[key] = post_id
        self.posts[post_id] = request
        return PublishReceipt(post_id=post_id, platform=request.platform, created=True)


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
