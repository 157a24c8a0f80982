"""``chimera worker``: drafts tasks from the swarm's task stream, on any machine that
reaches its Redis and PostgreSQL, with the same models, memory and prompts as a graph
process (its collaborators come from ``chimera.app.wiring``; the run's worker model and
prompt travel with each job)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from chimera.adapters.redis_streams.config import QueueUnavailable, SwarmConfig, connect
from chimera.adapters.redis_streams.consumer import StreamConsumer
from chimera.app.wiring import open_app
from chimera.domain.swarm import DraftJob, DraftOutcome
from chimera.nodes.worker import context_of_job, run_job
from chimera.settings import Settings

log = logging.getLogger("chimera.worker")
CONNECT_WAIT_S = 10.0


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    name: str,
    concurrency: int = 1,
    grace_s: float = 10.0,
) -> int:
    """Serves until ``stop`` is set; returns how many tasks this worker drafted."""
    config = SwarmConfig.from_settings(settings)
    client = connect(config)
    try:
        await _reach(client, config)
        async with open_app(settings, memory=True) as app:

            async def draft(job: DraftJob) -> DraftOutcome:
                ctx = context_of_job(job, app.services)
                return await run_job(ctx, app.services, app.store, job, name)

            consumer = StreamConsumer(
                client, config, name, draft, concurrency=concurrency, grace_s=grace_s
            )
            await consumer.run(stop)
            return consumer.done
    finally:
        await client.aclose()


async def _reach(client: aioredis.Redis, config: SwarmConfig) -> None:
    """A worker pointed at a Redis that is not there says so, instead of waiting."""
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        try:
            await client.ping()
            return
        except (RedisError, OSError) as exc:
            if time.monotonic() > deadline:
                raise QueueUnavailable(
                    f"cannot reach the swarm's Redis at {config.shown_url} "
                    f"({type(exc).__name__}): check CHIMERA_REDIS_URL"
                ) from None
            await asyncio.sleep(0.5)
