"""The one runner the CLI calls and the studio can call: start a goal, resume a review,
read a thread. It validates input before touching the graph, so bad input changes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, Interrupt

from chimera.adapters.persona_files import load_persona
from chimera.adapters.postgres.audit import read_audit
from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.outbox import list_posts
from chimera.adapters.postgres.threads import STATUSES, ThreadRegistry
from chimera.adapters.tracing import flush_traces, run_config
from chimera.app.views import checkpoint_entry, status_of, thread_view
from chimera.app.wiring import App
from chimera.domain.decisions import parse_decision
from chimera.domain.errors import InputError
from chimera.domain.redaction import redact_value
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona
from chimera.graphs.services import Services
from chimera.graphs.swarm import builder

MAX_GOAL_CHARS = 2000
ProgressCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


def new_thread_id() -> str:
    return "th-" + secrets.token_hex(5)


class Runner:
    def __init__(
        self,
        db: Database,
        services: Services,
        store: BaseStore | None = None,
        context: Context | None = None,
    ) -> None:
        """``store`` is long-term memory; without one, workers recall nothing and
        nothing is written back (reading threads needs none). Build it with
        ``Runner.of(app)`` from ``chimera.app.wiring.open_app``."""
        self.db = db
        self.store = store
        self.context = replace(context or Context(), services=services)
        self.graph: CompiledStateGraph[Any, Any, Any, Any] = builder.compile(
            checkpointer=db.checkpointer, store=store
        )
        self.threads = ThreadRegistry(db.pool)

    @classmethod
    def of(cls, app: App, context: Context | None = None) -> Runner:
        return cls(app.db, app.services, app.store, context)

    def models(self) -> dict[str, str]:
        return self.context.models()

    def _check_models(self) -> None:
        """Load every node's model before the graph runs, so a malformed spec or a missing
        provider package is a ConfigError that changes nothing."""
        services = self.context.services
        assert services is not None, "the runner always carries its services"
        for spec in self.models().values():
            services.chat_model(spec, self.context.model_timeout_s)

    @staticmethod
    def _config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    async def run(
        self,
        goal: str | None,
        persona: str | None,
        thread_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Start a goal on a new thread, or continue an unfinished one (after a crash)."""
        self._check_models()
        existing = await self.threads.get(thread_id) if thread_id else None
        if existing is None:
            goal = (goal or "").strip()
            if not goal:
                raise InputError("the goal is empty: say what the persona should do (--goal)")
            if len(goal) > MAX_GOAL_CHARS:
                raise InputError(f"the goal is {len(goal)} characters; at most {MAX_GOAL_CHARS}")
            if not persona:
                raise InputError("name a persona (--persona ID or path to a SOUL.md)")
            loaded = load_persona(persona)
            if self.store is not None:
                await seed_persona(self.store, loaded)
            thread_id = thread_id or new_thread_id()
            await self.threads.start(thread_id, loaded["id"], goal, self.models())
            payload: Any = {"persona": loaded, "goal": goal}
        else:
            assert thread_id is not None
            await self._check_continuable(existing, goal, persona)
            payload = None  # continue from the last checkpoint
        return await self._drive(thread_id, payload, on_progress)

    async def _check_continuable(
        self, thread: dict[str, Any], goal: str | None, persona: str | None
    ) -> None:
        tid = thread["thread_id"]
        if goal and goal.strip() != thread["goal"]:
            raise InputError(
                f"thread {tid} exists with another goal; leave out --thread to start anew"
            )
        if persona and load_persona(persona)["id"] != thread["persona_id"]:
            raise InputError(f"thread {tid} belongs to persona {thread['persona_id']!r}")
        snapshot = await self.graph.aget_state(self._config(tid))
        if snapshot.interrupts:
            raise InputError(
                f"thread {tid} is waiting on {len(snapshot.interrupts)} review(s): "
                f"use 'chimera resume {tid} --item ID --decision ...'"
            )
        if not snapshot.next:
            raise InputError(f"thread {tid} has already completed; start a new thread")

    async def resume(
        self,
        thread_id: str,
        item: str,
        decision: str,
        *,
        text: str | None = None,
        feedback: str | None = None,
        reviewer: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Answer one pending review; the thread's other reviews stay pending."""
        thread = await self.threads.get(thread_id)
        if thread is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        snapshot = await self.graph.aget_state(self._config(thread_id))
        pending = list(snapshot.interrupts)
        if not pending:
            status = "completed" if not snapshot.next else thread["status"]
            raise InputError(f"thread {thread_id} is not waiting on a review (it is {status})")
        target = _match_interrupt(pending, item)
        value = target.value
        answer = parse_decision(
            {"decision": decision, "text": text, "feedback": feedback, "reviewer": reviewer},
            attempt=value["attempt"],
            max_attempts=value["max_attempts"],
        )
        self._check_models()
        await self.threads.set_status(thread_id, "running")
        return await self._drive(thread_id, Command(resume={target.id: answer}), on_progress)

    async def _drive(
        self, thread_id: str, payload: Any, on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        config = self._config(thread_id)
        await self.threads.set_status(thread_id, "running")
        registered = await self.threads.get(thread_id)
        # The root run is "chimera", tagged with persona, thread and models (and traced,
        # redacted, when LangSmith or OpenTelemetry is configured: chimera.adapters.tracing).
        traced = run_config(
            config,
            thread_id=thread_id,
            persona_id=registered["persona_id"] if registered else None,
            models=self.models(),
        )
        try:
            async for _ns, chunk in self.graph.astream(
                payload,
                traced,
                context=self.context,
                stream_mode="custom",
                subgraphs=True,
                # Each step's writes are saved before the next begins: a crash loses at
                # most the step in flight, and finished parallel tasks are never re-run.
                durability="sync",
            ):
                if on_progress is not None:
                    maybe = on_progress(cast(dict[str, Any], chunk))
                    if maybe is not None:
                        await maybe
        except Exception as exc:
            await self.threads.set_status(
                thread_id, "failed", redact_value(f"{type(exc).__name__}: {exc}")
            )
            raise
        finally:
            await flush_traces()
        snapshot = await self.graph.aget_state(config)
        await self.threads.set_status(thread_id, status_of(snapshot))
        thread = await self.threads.get(thread_id)
        assert thread is not None, "the thread was registered before it ran"
        return thread_view(thread, snapshot)

    async def show(self, thread_id: str, history: bool = False) -> dict[str, Any]:
        thread = await self.threads.get(thread_id)
        if thread is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        config = self._config(thread_id)
        snapshot = await self.graph.aget_state(config)
        entries = None
        if history:
            entries = [checkpoint_entry(s) async for s in self.graph.aget_state_history(config)]
        return thread_view(thread, snapshot, entries)

    async def list_threads(self, status: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)} (got {status!r})")
        return await self.threads.list(status)

    async def posts(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        return await list_posts(self.db.pool, thread_id)

    async def audit(self, thread_id: str) -> list[dict[str, Any]]:
        if await self.threads.get(thread_id) is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        return await read_audit(self.db.pool, thread_id)


def _match_interrupt(pending: list[Interrupt], item: str) -> Interrupt:
    """An interrupt by its id, or by a unique prefix of at least 6 characters."""
    exact = [i for i in pending if i.id == item]
    if exact:
        return exact[0]
    prefixed = [i for i in pending if len(item) >= 6 and i.id.startswith(item)]
    if len(prefixed) == 1:
        return prefixed[0]
    listing = ", ".join(f"{i.id} ({i.value.get('task_id')})" for i in pending)
    raise InputError(f"no pending review {item!r} on this thread; pending: {listing}")
