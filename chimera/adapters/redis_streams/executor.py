"""The graph's side of swarm mode: a task's draft is written by a ``chimera worker``.

``run`` queues the job once (``scripts.ENQUEUE``) and waits for its outcome on the job's
own result stream, read from its start and never consumed: asked again for the same job
(a graph process restarted from its checkpoint, a node re-run), it re-attaches and reads
the same outcome. A Redis that restarted without its data loses the job's mark, and the
job is queued again; a Redis that stays away fails the run after a while with a clear
error, and the thread continues from its checkpoint with ``chimera run --thread``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chimera.adapters.redis_streams import scripts
from chimera.adapters.redis_streams.config import (
    RESULT_TTL_S,
    QueueFull,
    QueueUnavailable,
    SwarmConfig,
    connect,
    ensure_group,
)
from chimera.domain.redaction import redact_value
from chimera.domain.swarm import (
    DraftJob,
    DraftOutcome,
    MalformedMessage,
    decode_outcome,
    encode_job,
    failed,
)
from chimera.graphs.services import DraftFn

log = logging.getLogger("chimera.swarm")
T = TypeVar("T")
RESULT_POLL_MS = 2000  # a waiting graph checks this often that its job still exists
LOST = (RedisConnectionError, RedisTimeoutError, OSError)
MIN_TRIES = 5


class RedisExecutor:
    def __init__(self, config: SwarmConfig, client: aioredis.Redis | None = None) -> None:
        self.config = config
        self.client = client or connect(config)
        self._enqueue = self.client.register_script(scripts.ENQUEUE)
        self._grouped = False

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        """Queues ``job`` (unless it is queued or done already) and waits for its outcome;
        ``local`` is not used: a worker runs the same function with its own collaborators."""
        await self._queue(job)
        return await self._wait(job)

    async def close(self) -> None:
        await self.client.aclose()

    async def _queue(self, job: DraftJob) -> int:
        cfg = self.config
        if not self._grouped:
            await self._riding_out(lambda: ensure_group(self.client, cfg))
            self._grouped = True
        keys = [cfg.enqueued(job["job_id"]), cfg.tasks, cfg.result(job["job_id"])]
        args: list[str | int] = [encode_job(job), cfg.max_queue, RESULT_TTL_S, job["job_id"]]
        deadline = time.monotonic() + cfg.enqueue_wait_s
        pause = 0.05
        while True:
            state = int(await self._riding_out(lambda: self._enqueue(keys=keys, args=args)))
            if state != scripts.ENQUEUE_FULL:
                return state
            if time.monotonic() >= deadline:
                raise QueueFull(
                    f"the swarm's task stream on {cfg.shown_url} holds {cfg.max_queue} tasks "
                    f"and stayed full for {cfg.enqueue_wait_s:g} s: start more workers "
                    "(chimera worker), or raise CHIMERA_SWARM_MAX_QUEUE; the thread continues "
                    "with chimera run --thread"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def _wait(self, job: DraftJob) -> DraftOutcome:
        key = self.config.result(job["job_id"])
        while True:
            found: Any = await self._riding_out(
                lambda: self.client.xread({key: "0"}, count=1, block=RESULT_POLL_MS)
            )
            if found:
                _stream, entries = found[0]
                _entry_id, fields = entries[0]
                try:
                    return decode_outcome(fields.get("outcome", ""))
                except MalformedMessage as exc:
                    log.warning("job %s: unreadable outcome on %s: %s", job["job_id"], key, exc)
                    return failed(job["job_id"], f"its outcome could not be read ({exc})", "?")
            # Neither queued nor done: Redis lost it (restarted without its data).
            if not await self._riding_out(lambda: self.client.exists(self.config.enqueued(
                job["job_id"]))):  # fmt: skip
                log.warning("job %s was lost by Redis: queueing it again", job["job_id"])
                self._grouped = False
                await self._queue(job)

    async def _riding_out(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call``, retried while Redis is unreachable: for ``unavailable_after_s`` and at
        least ``MIN_TRIES`` times (a loop kept busy by CPU-bound work elsewhere in this
        process can make one try look like a timeout)."""
        give_up = time.monotonic() + self.config.unavailable_after_s
        pause, tries = 0.1, 0
        while True:
            try:
                return await call()
            except LOST as exc:
                tries += 1
                if time.monotonic() >= give_up and tries >= MIN_TRIES:
                    raise QueueUnavailable(
                        f"the swarm's Redis at {self.config.shown_url} has been unreachable "
                        f"for {self.config.unavailable_after_s:g} s ({type(exc).__name__}: "
                        f"{redact_value(str(exc))}): start it again, then continue the thread with "
                        "chimera run --thread"
                    ) from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
