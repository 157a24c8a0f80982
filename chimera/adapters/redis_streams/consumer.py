"""The workers' side of swarm mode: take tasks from the stream, draft them, post outcomes.

A consumer reads new tasks with XREADGROUP and takes over the tasks of dead workers with
XAUTOCLAIM once they have been idle for the visibility timeout. XAUTOCLAIM counts idle
time from the last delivery, not from the last sign of life, so a live consumer renews
each task it holds every third of the timeout (``XCLAIM ... JUSTID``, which does not
count as a delivery). A task delivered more than ``max_deliveries`` times, or a message
that is not a job, goes to the dead-letter stream; a job among them comes back to its
graph as a failed outcome (a critical failure, for a reviewer). A job whose outcome
exists already is acknowledged and skipped. On ``stop`` a consumer takes nothing new,
lets its tasks finish for ``grace_s``, and releases the rest to other workers at once.
A consumer whose task another took over (it looked dead) stops drafting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from chimera.adapters.redis_streams import scripts
from chimera.adapters.redis_streams.config import (
    COMPLETIONS_KEPT,
    GROUP,
    RESULT_TTL_S,
    SwarmConfig,
    ensure_group,
)
from chimera.adapters.redis_streams.executor import LOST
from chimera.domain.redaction import redact_value
from chimera.domain.swarm import (
    DraftJob,
    DraftOutcome,
    MalformedMessage,
    decode_job,
    encode_outcome,
    failed,
)

log = logging.getLogger("chimera.worker")
Handler = Callable[[DraftJob], Awaitable[DraftOutcome]]
READ_BLOCK_MS = 1000
# A released task looks this idle (ms), so that the next XAUTOCLAIM hands it on at once.
RELEASED_IDLE_MS = 10**9
Entry = tuple[str, dict[str, str]]


class StreamConsumer:
    def __init__(
        self,
        client: aioredis.Redis,
        config: SwarmConfig,
        name: str,
        handler: Handler,
        *,
        concurrency: int = 1,
        grace_s: float = 10.0,
    ) -> None:
        self.client = client
        self.config = config
        self.name = name
        self.handler = handler
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.inflight: dict[str, asyncio.Task[None]] = {}  # task entry id -> its work
        self.done = 0
        self.taken_over = 0  # drafts stopped because another worker took their task over
        self.started = time.time()
        self._finish = client.register_script(scripts.FINISH)

    async def run(self, stop: asyncio.Event) -> None:
        """Serves tasks until ``stop`` is set, riding out a Redis that goes away."""
        beat = asyncio.create_task(self._heartbeat(stop))
        try:
            await self._serve(stop)
        finally:
            await self._drain()
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            with contextlib.suppress(*LOST):
                await self.client.delete(self.config.worker(self.name))

    async def _serve(self, stop: asyncio.Event) -> None:
        grouped = False
        next_claim = 0.0
        while not stop.is_set():
            free = self.concurrency - len(self.inflight)
            if free <= 0:
                await asyncio.wait(list(self.inflight.values()), timeout=0.5,
                                   return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                continue
            try:
                if not grouped:
                    await ensure_group(self.client, self.config)
                    grouped = True
                entries: list[tuple[Entry, int]] = []
                if time.monotonic() >= next_claim:
                    entries = await self._claim(free)
                    next_claim = time.monotonic() + min(1.0, self.config.visibility_s / 4)
                if not entries:
                    entries = [(e, 1) for e in await self._read(free)]
            except LOST as exc:
                log.warning("Redis at %s unreachable (%s): retrying", self.config.shown_url, exc)
                await _sleep_or_stop(stop, 1.0)
                continue
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                grouped = False  # Redis restarted without its data: make the group again
                continue
            for (entry_id, fields), deliveries in entries:
                if entry_id not in self.inflight:
                    work = asyncio.create_task(self._process(entry_id, fields, deliveries))
                    self.inflight[entry_id] = work
                    work.add_done_callback(self._forget)

    def _forget(self, work: asyncio.Task[None]) -> None:
        for entry_id, held in list(self.inflight.items()):
            if held is work:
                del self.inflight[entry_id]

    async def _read(self, count: int) -> list[Entry]:
        found: Any = await self.client.xreadgroup(
            GROUP, self.name, {self.config.tasks: ">"}, count=count, block=READ_BLOCK_MS
        )
        return [(i, f) for _stream, entries in found or [] for i, f in entries]

    async def _claim(self, count: int) -> list[tuple[Entry, int]]:
        """Tasks idle for the visibility timeout (their worker died or let go), with how
        many times each has been delivered counting this one."""
        idle_ms = int(self.config.visibility_s * 1000)
        reply: Any = await self.client.xautoclaim(
            self.config.tasks, GROUP, self.name, idle_ms, start_id="0-0", count=count
        )
        claimed = [(i, f) for i, f in reply[1] if f is not None]
        gone = [i for i, f in reply[1] if f is None]
        if gone:  # deleted while pending (Redis 6.2 keeps them listed): nothing to do
            await self.client.xack(self.config.tasks, GROUP, *gone)
        if not claimed:
            return []
        counts = {
            p["message_id"]: p["times_delivered"]
            for p in await self.client.xpending_range(
                self.config.tasks, GROUP, min=claimed[0][0], max=claimed[-1][0],
                count=len(claimed) * 4, consumername=self.name,
            )
        }  # fmt: skip
        return [((i, f), int(counts.get(i, 1))) for i, f in claimed]

    async def _process(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        try:
            await self._handle(entry_id, fields, deliveries)
        except LOST as exc:
            # The task stays pending: delivered again once Redis is back.
            log.warning("task %s interrupted: Redis unreachable (%s)", entry_id, exc)

    async def _handle(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        try:
            job = decode_job(fields.get("job", ""))
        except MalformedMessage as exc:
            log.warning("task %s is malformed, dead-lettered: %s", entry_id, exc)
            await self._dead_letter(entry_id, fields, str(exc), _job_id_of(fields))
            return
        job_id = job["job_id"]
        if deliveries > self.config.max_deliveries:
            last: Any = await self.client.get(self.config.last_error(job_id))
            reason = f"delivered {deliveries} times without an outcome" + (
                f"; last error: {last}" if last else " (its workers died or let go)"
            )
            log.warning("job %s dead-lettered: %s", job_id, reason)
            await self._dead_letter(entry_id, fields, reason, job_id)
            return
        if await self.client.exists(self.config.result(job_id)):
            await self._write(entry_id, None)  # done by an earlier delivery: acknowledge
            return
        renew = asyncio.create_task(self._renew(entry_id))
        draft: asyncio.Future[DraftOutcome] = asyncio.ensure_future(self.handler(job))
        try:
            running: set[asyncio.Future[Any]] = {draft, renew}
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            if not draft.done() and renew.done() and renew.exception() is None:
                # Another worker holds the task now (this one looked dead, say on a loaded
                # machine): it will write the outcome, so this draft's model call is waste.
                draft.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await draft
                self.taken_over += 1
                log.info("job %s was taken over by another worker: its draft here stopped",
                         job_id)  # fmt: skip
                return
            outcome = await draft
        except asyncio.CancelledError:
            draft.cancel()
            raise
        except Exception as exc:
            error = redact_value(f"{type(exc).__name__}: {exc}")
            log.warning("job %s failed on delivery %d: %s", job_id, deliveries, error)
            await self.client.set(self.config.last_error(job_id), error, ex=RESULT_TTL_S)
            await self._release([entry_id])  # to the next delivery at once
            return
        finally:
            renew.cancel()
        await self._write_surely(entry_id, outcome)
        self.done += 1

    async def _write_surely(self, entry_id: str, outcome: DraftOutcome) -> None:
        """An outcome is worth keeping through a short Redis restart; if Redis stays away,
        the task is delivered again once it is back (or queued again by its graph)."""
        for pause in (0.2, 0.5, 1, 2, 4, 8):
            try:
                await self._write(entry_id, outcome)
                return
            except LOST as exc:
                log.warning("writing the outcome of %s failed (%s): retrying", entry_id, exc)
                await asyncio.sleep(pause)
        await self._write(entry_id, outcome)

    async def _write(self, entry_id: str, outcome: DraftOutcome | None) -> None:
        cfg = self.config
        job_id = outcome["job_id"] if outcome else ""
        await self._finish(
            keys=[cfg.result(job_id) if outcome else cfg.result("-"), cfg.tasks, cfg.completions],
            args=[GROUP, entry_id, encode_outcome(outcome) if outcome else "", RESULT_TTL_S,
                  self.name, outcome["status"] if outcome else "", COMPLETIONS_KEPT],
        )  # fmt: skip

    async def _dead_letter(
        self, entry_id: str, fields: dict[str, str], reason: str, job_id: str | None
    ) -> None:
        await self.client.xadd(
            self.config.dead,
            {"entry": entry_id, "reason": reason, "worker": self.name,
             "job_id": job_id or "", "message": json.dumps(fields)[:10_000]},
            maxlen=self.config.max_queue, approximate=True,
        )  # fmt: skip
        if job_id:
            await self._write(entry_id, failed(job_id, reason, self.name))
        else:
            await self.client.xack(self.config.tasks, GROUP, entry_id)
            await self.client.xdel(self.config.tasks, entry_id)

    async def _renew(self, entry_id: str) -> None:
        """Keeps a task this consumer holds from looking idle, while it holds it; returns
        when another consumer holds it."""
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                held = await self.client.xpending_range(
                    self.config.tasks, GROUP, min=entry_id, max=entry_id, count=1
                )
                if not held or held[0]["consumer"] != self.name:
                    return  # another worker took it over: leave it to that one
                await self.client.xclaim(
                    self.config.tasks, GROUP, self.name, 0, [cast(Any, entry_id)], justid=True
                )
            except LOST as exc:
                log.warning("heartbeat for %s failed (%s)", entry_id, exc)

    async def _release(self, entry_ids: list[str]) -> None:
        """Hands tasks back: they look idle for ever, so the next XAUTOCLAIM takes them."""
        ids: list[Any] = list(entry_ids)
        if ids:
            await self.client.xclaim(self.config.tasks, GROUP, self.name, 0, ids,
                                     idle=RELEASED_IDLE_MS, justid=True)  # fmt: skip

    async def _drain(self) -> None:
        """On stop: in-flight tasks get ``grace_s`` to finish; the rest are released."""
        if not self.inflight:
            return
        _done, pending = await asyncio.wait(list(self.inflight.values()), timeout=self.grace_s)
        left = [e for e, t in self.inflight.items() if t in pending]
        for work in pending:
            work.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._release(left)
            if left:
                log.warning("released %d unfinished task(s) to other workers", len(left))
        except LOST as exc:
            log.warning("could not release %d task(s) (%s): they return after the "
                        "visibility timeout", len(left), exc)  # fmt: skip

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """This worker's sign of life, for ``swarm status``."""
        key = self.config.worker(self.name)
        ttl = max(3, int(self.config.visibility_s))
        while not stop.is_set():
            info: dict[str, Any] = {
                "name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                "concurrency": self.concurrency, "busy": len(self.inflight),
                "done": self.done, "started": self.started, "seen": time.time(),
            }  # fmt: skip
            with contextlib.suppress(*LOST):
                await self.client.set(key, json.dumps(info), ex=ttl)
            await _sleep_or_stop(stop, self.config.heartbeat_s)


def _job_id_of(fields: dict[str, str]) -> str | None:
    """The job a malformed message was meant to be, when it says, so that its graph gets
    an answer instead of waiting for ever."""
    if fields.get("job_id"):
        return fields["job_id"]
    try:
        found = json.loads(fields.get("job", ""))
    except ValueError:
        return None
    job_id = found.get("job_id") if isinstance(found, dict) else None
    return job_id if isinstance(job_id, str) and job_id else None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
