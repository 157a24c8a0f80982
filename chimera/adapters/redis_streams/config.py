"""The swarm's settings and the names of its Redis keys."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from chimera.domain.errors import ChimeraError, ConfigError
from chimera.domain.redaction import redact_text, secret_values
from chimera.settings import Settings

GROUP = "workers"
# Results and enqueue marks outlive any thread that could still re-attach to them.
RESULT_TTL_S = 7 * 24 * 3600
# Completions kept for the status's throughput (about the last minute at high rates).
COMPLETIONS_KEPT = 100_000


class QueueFull(ChimeraError):
    """The task stream stayed full for longer than the enqueue may wait."""


class QueueUnavailable(ChimeraError):
    """Redis went away and did not come back in time; the message says what to do."""


@dataclass(frozen=True)
class SwarmConfig:
    url: str
    prefix: str = "chimera"
    visibility_s: float = 30.0
    max_deliveries: int = 3
    max_queue: int = 10_000
    enqueue_wait_s: float = 30.0
    # How long a lost Redis is retried before a graph gives up on it.
    unavailable_after_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SwarmConfig:
        if not settings.redis_url:
            raise ConfigError("CHIMERA_REDIS_URL is not set: swarm mode needs a Redis")
        return cls(
            url=settings.redis_url,
            prefix=settings.redis_prefix,
            visibility_s=settings.swarm_visibility_s,
            max_deliveries=settings.swarm_max_deliveries,
            max_queue=settings.swarm_max_queue,
            enqueue_wait_s=settings.swarm_enqueue_wait_s,
        )

    @property
    def heartbeat_s(self) -> float:
        """A live worker renews its tasks three times per visibility timeout."""
        return self.visibility_s / 3

    @property
    def shown_url(self) -> str:
        """The URL with any password masked, for messages and status."""
        return redact_text(self.url, secret_values())

    # -- key names -------------------------------------------------------------------------

    @property
    def tasks(self) -> str:
        return f"{self.prefix}:tasks"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def completions(self) -> str:
        return f"{self.prefix}:completions"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}:result:{job_id}"

    def enqueued(self, job_id: str) -> str:
        return f"{self.prefix}:enqueued:{job_id}"

    def last_error(self, job_id: str) -> str:
        return f"{self.prefix}:error:{job_id}"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    @property
    def workers_pattern(self) -> str:
        return f"{self.prefix}:worker:*"


def connect(config: SwarmConfig) -> aioredis.Redis:
    """A client for the swarm's Redis (``redis://``, ``rediss://`` or ``unix://``)."""
    return aioredis.Redis.from_url(
        config.url, decode_responses=True, socket_connect_timeout=10, health_check_interval=30
    )


async def ensure_group(client: aioredis.Redis, config: SwarmConfig) -> None:
    """The workers' consumer group, reading the task stream from its start."""
    try:
        await client.xgroup_create(config.tasks, GROUP, id="0", mkstream=True)
    except aioredis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
