"""One task subgraph waiting on its review, in memory: it starts at the review from a
fixed verdict written as the judge's, so no model or scorer decides the route."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
from chimera.adapters.memory.postgres import in_memory_store
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.persona_files import load_persona
from chimera.domain.decisions import DecisionLog
from chimera.domain.types import Task, Verdict
from chimera.graphs.context import Context
from chimera.graphs.services import Services
from chimera.graphs.swarm import task_builder

DRAFT = "Vaccines for kids: ask your paediatrician, not an influencer. #AI"
TASK = Task(id="t1", kind="post", topic="vaccines for kids", brief="A post on vaccines.")
VERDICT = Verdict(
    confidence=0.5, signals=[], flags=["sensitive:health"], route="review", reasons=["fixed"]
)


class Review:
    """One task waiting on its review, at ``attempt`` of ``max_attempts``."""

    def __init__(
        self, attempt: int = 1, max_attempts: int = 3, decisions: DecisionLog | None = None
    ) -> None:
        self.publisher = InMemoryPublisher()
        self.audit = InMemoryAuditLog()
        self.models: list[str] = []

        def loader(spec: str, timeout: float) -> Any:
            self.models.append(spec)  # the worker or the judge ran
            return load_chat_model(spec, timeout)

        services = Services(
            publisher=self.publisher, audit=self.audit, chat_model=loader, decisions=decisions
        )
        self.context = Context(services=services, max_attempts=max_attempts)
        self.store = in_memory_store()
        self.graph = task_builder.compile(checkpointer=InMemorySaver(), store=self.store)
        self.config: Any = {"configurable": {"thread_id": "review-loop"}}
        self.attempt = attempt

    async def start(self) -> dict[str, Any]:
        values = {
            "persona": load_persona("ava"),
            "goal": "posts on vaccines for kids",
            "task": TASK,
            "attempt": self.attempt,
            "feedback": "",
            "draft": DRAFT,
            "verdict": VERDICT,
        }
        await self.graph.aupdate_state(self.config, values, as_node="judge")
        await self.graph.ainvoke(None, self.config, context=self.context)
        return await self.asked()

    async def asked(self) -> dict[str, Any]:
        """The pending question: its id and value."""
        state = await self.graph.aget_state(self.config)
        (pending,) = state.interrupts
        return {"id": pending.id, **pending.value}

    async def answer(self, value: Any) -> dict[str, Any]:
        interrupt_id = (await self.asked())["id"]
        return await self.graph.ainvoke(
            Command(resume={interrupt_id: value}), self.config, context=self.context
        )

    async def pending(self) -> int:
        return len((await self.graph.aget_state(self.config)).interrupts)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.audit.events if e.event == name]
