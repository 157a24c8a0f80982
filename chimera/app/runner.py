"""The one runner the CLI calls and the studio can call: start a goal, resume a review,
read a thread. It validates input before touching the graph, so bad input changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any, cast

import psutil
import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, Interrupt

from chimera.adapters.persona_files import load_persona
from chimera.adapters.postgres.audit import read_audit
from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.decisions import PostgresDecisionLog
from chimera.adapters.postgres.outbox import list_posts
from chimera.adapters.postgres.retention import PRUNABLE, prune_checkpoints
from chimera.adapters.postgres.threads import STATUSES, ThreadRegistry
from chimera.adapters.tracing import flush_traces, run_config
from chimera.app.views import checkpoint_entry, status_of, thread_view
from chimera.app.wiring import App
from chimera.domain.decisions import (
    DecisionLog,
    RecordedDecision,
    check_not_decided,
    parse_decision,
    same_decision,
)
from chimera.domain.effects import AuditEvent
from chimera.domain.errors import ConfigError, DatabaseUnavailable, InputError, ThreadBusy
from chimera.domain.hygiene import check_thread_id, clean
from chimera.domain.redaction import redact_value
from chimera.domain.signals.secrets import SECRET_FLAG, secret_findings
from chimera.domain.swarm import CRITICAL_FAILURE
from chimera.domain.types import Decision
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona
from chimera.graphs.services import Services
from chimera.graphs.swarm import builder

MAX_GOAL_CHARS = 2000
ProgressCallback = Callable[[dict[str, Any]], Awaitable[None] | None]
# A thread's lease lasts this long unless renewed; the heartbeat renews it three times as
# often, so a thread whose process died shows as stalled within this many seconds.
LEASE_SECONDS = 15.0
# How long a lost database is retried before the command gives up (each try also waits
# up to the pool's timeout): a short restart is ridden out, a lost one fails in ~10 s.
DB_RETRY_SECONDS = 3.0
# A heartbeat that cannot reach the database for this long ends the drive at once.
DB_LOST_SECONDS = 5.0
log = logging.getLogger("chimera.runner")
_CONTINUE = object()  # drive the graph from its last checkpoint (LangGraph's None input)


def new_thread_id() -> str:
    return "th-" + secrets.token_hex(5)


class Runner:
    def __init__(
        self,
        db: Database,
        services: Services,
        store: BaseStore | None = None,
        context: Context | None = None,
        *,
        decisions: DecisionLog | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        """``store`` is long-term memory; without one, workers recall nothing and
        nothing is written back (reading threads needs none). Build it with
        ``Runner.of(app)`` from ``chimera.app.wiring.open_app``."""
        self.db = db
        self.store = store
        self._services = services
        self.context = replace(context or Context(), services=services)
        self.graph: CompiledStateGraph[Any, Any, Any, Any] = builder.compile(
            checkpointer=db.checkpointer, store=store
        )
        self.threads = ThreadRegistry(db.pool)
        self.decisions: DecisionLog = (
            decisions or services.decisions or PostgresDecisionLog(db.pool)
        )
        env_lease = os.environ.get("CHIMERA_LEASE_SECONDS")
        try:
            self.lease_seconds = float(lease_seconds or env_lease or LEASE_SECONDS)
        except ValueError:
            raise ConfigError(f"CHIMERA_LEASE_SECONDS={env_lease!r} is not a number") from None
        if self.lease_seconds < 1:
            raise ConfigError("CHIMERA_LEASE_SECONDS must be at least 1")
        # Who holds a lease: enough for an operator to find the process.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    @classmethod
    def of(cls, app: App, context: Context | None = None) -> Runner:
        return cls(app.db, app.services, app.store, context)

    def models(self) -> dict[str, str]:
        return self.context.models()

    @staticmethod
    def _config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def check_models(self) -> None:
        """Every configured model loads (spec well-formed, package installed, key present)
        before anything is written: a bad judge model is found before a paid planner ran."""
        for node, spec in self.models().items():
            try:
                self._services.chat_model(spec, 60.0)
            except ConfigError as exc:
                raise ConfigError(f"the {node} model: {exc}") from None
            except ImportError as exc:
                raise ConfigError(
                    f"the {node} model {spec!r} needs a package that is not installed "
                    f"({exc.name or exc}): install it, or choose another model"
                ) from None
            except Exception as exc:
                message = redact_value(f"{type(exc).__name__}: {exc}")
                raise ConfigError(f"the {node} model {spec!r} cannot load: {message}") from None

    async def run(
        self,
        goal: str | None,
        persona: str | None,
        thread_id: str | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        started: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Start a goal on a new thread, or continue an unfinished one (after a crash, or a
        thread stalled because its process died: its lease is taken over). ``started`` is
        (actor, payload) of the ``run_started`` event a new thread records as it is made
        (``chimera.app.run_settings``)."""
        with _database_lost(thread_id):
            return await self._run(goal, persona, thread_id, on_progress, started)

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
        """Answer one pending review; the thread's other reviews stay pending.

        The decision is recorded durably first (one per interrupt: a rival decision is
        refused, naming the one that stands), then the graph resumes with it. A resume cut
        short is completed by the next command that touches the thread."""
        with _database_lost(thread_id):
            return await self._resume(
                thread_id,
                item,
                decision,
                text=text,
                feedback=feedback,
                reviewer=reviewer,
                on_progress=on_progress,
            )

    async def show(self, thread_id: str, history: bool = False) -> dict[str, Any]:
        """A thread's view; a decision a cut-short resume recorded is applied first."""
        with _database_lost(thread_id):
            return await self._show(thread_id, history)

    async def _run(
        self,
        goal: str | None,
        persona: str | None,
        thread_id: str | None = None,
        on_progress: ProgressCallback | None = None,
        started: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``run``'s work, inside its database-loss handling (see ``run``)."""
        if thread_id is not None:
            check_thread_id(thread_id)
        existing = await self.threads.get(thread_id) if thread_id else None
        if existing is None:
            goal = clean(goal or "", what="the goal").text.strip()
            if not goal:
                raise InputError("the goal is empty: say what the persona should do (--goal)")
            if len(goal) > MAX_GOAL_CHARS:
                raise InputError(f"the goal is {len(goal)} characters; at most {MAX_GOAL_CHARS}")
            if not persona:
                raise InputError("name a persona (--persona ID or path to a SOUL.md)")
            loaded = load_persona(persona)
            self.check_models()
            if self.store is not None:
                await seed_persona(self.store, loaded)
            thread_id = thread_id or new_thread_id()
            await self.threads.start(
                thread_id,
                loaded["id"],
                goal,
                self.models(),
                owner=self.owner,
                lease_seconds=self.lease_seconds,
            )
            if started is not None:
                actor, payload = started
                await self._services.audit.record(
                    AuditEvent(thread_id=thread_id, event="run_started", actor=actor,
                               payload=payload)
                )  # fmt: skip
            async with self._lease(thread_id):
                return await self._settle(thread_id, {"persona": loaded, "goal": goal}, on_progress)
        assert thread_id is not None
        self.check_models()
        async with self._lease(thread_id):
            first: Any = await self._recorded_resume(thread_id)
            if first is None:
                await self._check_continuable(existing, goal, persona)
                first = _CONTINUE
            if existing.get("models") != self.models():
                await self.threads.set_models(thread_id, self.models())
            return await self._settle(thread_id, first, on_progress)

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

    async def _resume(
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
        """``resume``'s work, inside its database-loss handling (see ``resume``)."""
        check_thread_id(thread_id)
        # Before the decision is recorded: a recorded decision is applied by the next
        # command, so a bad model must be refused while nothing has been written.
        self.check_models()
        thread = await self.threads.get(thread_id)
        if thread is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        snapshot = await self.graph.aget_state(self._config(thread_id))
        pending = list(snapshot.interrupts)
        standing = await self.decisions.get(thread_id, item)
        if standing is None and not pending:
            status = "completed" if not snapshot.next else thread["status"]
            raise InputError(f"thread {thread_id} is not waiting on a review (it is {status})")
        if standing is not None:
            interrupt_id, task_id, attempt = item, standing.task_id, standing.attempt
            max_attempts = attempt + 1  # a retry was possible when it was decided
        else:
            target = _match_interrupt(pending, item)
            interrupt_id, task_id = target.id, target.value["task_id"]
            attempt, max_attempts = target.value["attempt"], target.value["max_attempts"]
        edited = clean(text, what="the edited text") if text is not None else None
        answer = parse_decision(
            {
                "decision": decision,
                "text": edited.text if edited else None,
                "feedback": clean(feedback, what="the feedback").text if feedback else None,
                "reviewer": reviewer,
            },
            attempt=attempt,
            max_attempts=max_attempts,
        )
        if standing is None:
            _check_no_secret(answer, target.value.get("flags") or [])
            _check_has_draft(answer, target.value.get("flags") or [])
            standing, won = await self.decisions.record(
                thread_id, interrupt_id, task_id, attempt, answer
            )
        else:
            won = False
        repeated = not won and same_decision(standing.decision, answer)
        outcome = "recorded" if won else "repeated" if repeated else "refused"
        await self._audit_attempt(thread_id, interrupt_id, task_id, attempt, answer, outcome,
                                  standing.describe())  # fmt: skip
        if outcome == "refused":
            check_not_decided(standing, answer)
        async with self._lease(thread_id, wait=True):
            first = await self._recorded_resume(thread_id)
            return await self._settle(thread_id, first, on_progress)

    async def _audit_attempt(
        self,
        thread_id: str,
        interrupt_id: str,
        task_id: str,
        attempt: int,
        answer: Decision,
        outcome: str,
        standing: str,
    ) -> None:
        """Every attempted decision is in the audit trail, whether it won or not."""
        await self._services.audit.record(
            AuditEvent(
                thread_id=thread_id,
                event="decision_attempted",
                actor=f"human:{answer.get('reviewer', 'anonymous')}",
                task_id=task_id,
                payload={
                    "interrupt_id": interrupt_id,
                    "attempt": attempt,
                    **answer,
                    "outcome": outcome,
                    "standing": standing,
                },
            )
        )

    async def _recorded_resume(self, thread_id: str) -> Command[Any] | None:
        """The resume that applies every recorded decision whose interrupt is still pending;
        decisions whose interrupt the graph has moved past are marked applied."""
        recorded = await self.decisions.unapplied(thread_id)
        if not recorded:
            return None
        snapshot = await self.graph.aget_state(self._config(thread_id))
        pending = {i.id: i.value for i in snapshot.interrupts}

        def waiting(d: RecordedDecision) -> bool:
            asked = pending.get(d.interrupt_id)
            return isinstance(asked, dict) and d.is_for(asked.get("task_id"), asked.get("attempt"))

        await self.decisions.mark_applied(
            thread_id, [d.interrupt_id for d in recorded if not waiting(d)]
        )
        todo = {d.interrupt_id: d.decision for d in recorded if waiting(d)}
        return Command(resume=todo) if todo else None

    @contextlib.asynccontextmanager
    async def _lease(self, thread_id: str, *, wait: bool = False) -> AsyncIterator[None]:
        """Holds the thread's lease (renewed by heartbeat) while the body drives the graph:
        two processes never drive one thread. ``wait`` waits for a live holder to finish
        (a reviewer answering while another process still runs the thread)."""
        deadline = time.monotonic() + (2 * self.lease_seconds if wait else 0)
        while holder := await self.threads.acquire(thread_id, self.owner, self.lease_seconds):
            # A holder on this machine whose process is gone (SIGKILL) cannot renew its
            # lease: take it over now rather than wait for the lease to lapse.
            if _holder_is_dead(holder) and await self.threads.take_over(
                thread_id, holder, self.owner, self.lease_seconds
            ):
                break
            if time.monotonic() >= deadline:
                raise ThreadBusy(
                    f"thread {thread_id} is being driven by another process ({holder}); "
                    "any decision you gave is recorded and that process applies it: "
                    f"see 'chimera show {thread_id}'"
                )
            await asyncio.sleep(0.25)
        main = asyncio.current_task()
        assert main is not None
        lost: list[BaseException] = []
        beat = asyncio.create_task(self._heartbeat(thread_id, main, lost))
        try:
            yield
        except asyncio.CancelledError:
            if lost:  # the heartbeat found the database gone: fail now, not after timeouts
                raise _lost(thread_id, lost[0]) from None
            raise
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            with contextlib.suppress(Exception):
                await asyncio.shield(self.threads.release(thread_id, self.owner))

    async def _heartbeat(
        self, thread_id: str, main: asyncio.Task[Any], lost: list[BaseException]
    ) -> None:
        """Renews the lease; when the database stays unreachable for DB_LOST_SECONDS it
        cancels the drive (LangGraph's own calls would each wait out pool timeouts)."""
        failing_since: float | None = None
        while True:
            await asyncio.sleep(min(self.lease_seconds / 3, 1.0))
            began = time.monotonic()
            try:
                if not await self.threads.heartbeat(thread_id, self.owner, self.lease_seconds):
                    log.warning("thread %s: lease lost to another process", thread_id)
                failing_since = None
            except psycopg.OperationalError as exc:
                failing_since = failing_since or began
                log.info("thread %s: heartbeat failed: %s", thread_id, redact_value(str(exc)))
                if time.monotonic() - failing_since > DB_LOST_SECONDS:
                    lost.append(exc)
                    main.cancel()
                    return

    async def _settle(
        self, thread_id: str, first: Any, on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Drives the graph, then applies any decision recorded meanwhile (by a reviewer
        whose process waits on our lease), until nothing recorded is left to apply."""
        payload = first
        resumed: set[str] = set()
        while payload is not None:
            if isinstance(payload, Command) and isinstance(payload.resume, dict):
                resumed.update(payload.resume)
            await self._drive(thread_id, payload, on_progress)
            payload = await self._recorded_resume(thread_id)
            if isinstance(payload, Command) and isinstance(payload.resume, dict):
                # An interrupt we resumed that shows again is a new one with the same id:
                # its recorded decision was used up.
                again = [i for i in payload.resume if i in resumed]
                if again:
                    await self.decisions.mark_applied(thread_id, again)
                    payload = await self._recorded_resume(thread_id)
        return await self._view(thread_id)

    async def _view(self, thread_id: str) -> dict[str, Any]:
        snapshot = await self.graph.aget_state(self._config(thread_id))
        thread = await self.threads.get(thread_id)
        assert thread is not None, "the thread was registered before it ran"
        return thread_view(thread, snapshot)

    async def _drive(
        self, thread_id: str, payload: Any, on_progress: ProgressCallback | None
    ) -> None:
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
        given = None if payload is _CONTINUE else payload
        first_failure: float | None = None
        while True:
            try:
                async for _ns, chunk in self.graph.astream(
                    given,
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
                break
            except psycopg.OperationalError as exc:
                # The database went away: ride out a short restart by retrying the step from
                # the last checkpoint (the pool checks and replaces dead connections).
                now = time.monotonic()
                first_failure = first_failure or now
                if now - first_failure > DB_RETRY_SECONDS:
                    raise DatabaseUnavailable(
                        f"lost the database while running thread {thread_id} "
                        f"({redact_value(type(exc).__name__ + ': ' + str(exc)).strip()}); "
                        "start it again (or check CHIMERA_DATABASE_URL), then continue with "
                        f"'chimera run --thread {thread_id}'"
                    ) from None
                log.info("database lost (%s); retrying the step", type(exc).__name__)
                await asyncio.sleep(0.5)
                if not isinstance(given, Command):
                    given = await self._retry_input(config, given)
            except Exception as exc:
                with contextlib.suppress(psycopg.Error):
                    await self.threads.set_status(
                        thread_id, "failed", redact_value(f"{type(exc).__name__}: {exc}")
                    )
                raise
            finally:
                await flush_traces()
        snapshot = await self.graph.aget_state(config)
        await self.threads.set_status(thread_id, status_of(snapshot))

    async def _retry_input(self, config: RunnableConfig, given: Any) -> Any:
        """What to send when a step is tried again: the first input only if no checkpoint
        was saved yet; otherwise continue. (A resume is sent again as it was: the same
        recorded decisions, which LangGraph applies once.)"""
        try:
            snapshot = await self.graph.aget_state(config)
        except psycopg.OperationalError:
            return given
        return None if snapshot.created_at else given

    async def _show(self, thread_id: str, history: bool = False) -> dict[str, Any]:
        check_thread_id(thread_id)
        thread = await self.threads.get(thread_id)
        if thread is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        # A decision recorded by a resume that was cut short is applied now.
        if await self.decisions.unapplied(thread_id):
            with contextlib.suppress(ThreadBusy):
                async with self._lease(thread_id):
                    first = await self._recorded_resume(thread_id)
                    if first is not None:
                        await self._settle(thread_id, first, None)
            thread = await self.threads.get(thread_id) or thread
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

    async def prune(
        self, older_than_days: float, status: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Deletes finished threads' checkpoints (posts, audit trail and memory stay)."""
        if older_than_days < 0:
            raise InputError(f"--older-than is days, at least 0 (got {older_than_days})")
        if status is not None and status not in PRUNABLE:
            raise InputError(f"--status must be one of {', '.join(PRUNABLE)} (got {status!r})")
        return await prune_checkpoints(
            self.db.pool, older_than_days=older_than_days, kind=status or "all", dry_run=dry_run
        )

    async def posts(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        return await list_posts(self.db.pool, thread_id)

    async def audit(self, thread_id: str) -> list[dict[str, Any]]:
        check_thread_id(thread_id)
        if await self.threads.get(thread_id) is None:
            raise InputError(f"unknown thread {thread_id!r}: see 'chimera threads'")
        return await read_audit(self.db.pool, thread_id)


def _lost(thread_id: str | None, exc: BaseException) -> DatabaseUnavailable:
    then = f"'chimera run --thread {thread_id}'" if thread_id else "the command again"
    return DatabaseUnavailable(
        f"lost the database ({redact_value(type(exc).__name__ + ': ' + str(exc)).strip()});"
        f" start it again (or check CHIMERA_DATABASE_URL), then continue with {then}"
    )


@contextlib.contextmanager
def _database_lost(thread_id: str | None) -> Iterator[None]:
    """A lost database, wherever it shows, is one clear error saying what to do."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise _lost(thread_id, exc) from None


def _check_has_draft(answer: Decision, flags: list[str]) -> None:
    """A task the swarm could not draft has nothing to approve."""
    if answer["decision"] == "approve" and CRITICAL_FAILURE in flags:
        raise InputError(
            "this task could not be drafted, so there is nothing to approve: retry it "
            "(--decision retry), write it (--decision edit --text ...), or reject it"
        )


def _check_no_secret(answer: Decision, flags: list[str]) -> None:
    """A draft holding a secret is never published: it can be edited or rejected only."""
    if answer["decision"] == "approve" and SECRET_FLAG in flags:
        raise InputError(
            "this draft contains a secret or a credential and cannot be published as is: "
            "edit it (--decision edit --text ...) without the secret, or reject it"
        )
    if answer["decision"] == "edit":
        found = secret_findings(answer.get("text", ""))
        if found:
            raise InputError(f"the edited text contains {', '.join(found)}: remove it")


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


def _holder_is_dead(holder: str) -> bool:
    """True when a lease owner (``host:pid:token``) ran on this host and its process is
    gone. A holder elsewhere, or a pid now reused, counts as alive: its lease lapses."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not psutil.pid_exists(int(pid_text))
