"""The interfaces of the collaborators nodes use, and the bundle that carries them.

Nodes never reach for globals: publishing, the audit trail and chat models are
handed in (``runtime.context.services``, built by ``chimera.app.wiring``), so the
runner wires PostgreSQL, tests wire memory, and a Redis executor or an MCP publisher
replaces one piece without touching nodes. Adapters implement these protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from pydantic_core import core_schema

from chimera.domain.effects import AuditEvent, PublishReceipt, PublishRequest
from chimera.domain.signals.persona_consistency import PairScorer
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


ChatModelLoader = Callable[[str, float], BaseChatModel]


@dataclass
class Services:
    publisher: Publisher
    audit: AuditLog
    chat_model: ChatModelLoader
    # The NLI pair scorer behind the persona-consistency signal; None leaves the judge
    # with its lexical checks.
    nli_scorer: PairScorer | None = None
    # Resolves a run's persona given by id or path (LangGraph's server takes either).
    personas: PersonaSource | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        # Live objects: opaque to pydantic, so LangGraph's server can build Context's schema.
        return core_schema.is_instance_schema(cls)
