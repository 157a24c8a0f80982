"""Swarm fixtures: a real Redis and a key prefix of each test's own, cleaned up after.

The Redis is CHIMERA_TEST_REDIS_URL (CI sets it); without it, a throwaway redis-server
locally. Under CI=true a missing or unreachable Redis fails the test, never skips it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from chimera.adapters.redis_streams.config import SwarmConfig, connect
from support.redis_server import RedisProcess

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("CHIMERA_TEST_REDIS_URL")
    if url:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            pytest.fail(f"CHIMERA_TEST_REDIS_URL={url} is unreachable: {exc}")
        yield url
        return
    if IN_CI:
        pytest.fail("CHIMERA_TEST_REDIS_URL is not set: CI tests swarm mode on a real Redis")
    server = RedisProcess().start()
    yield server.url
    server.close()


def wipe(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture
def swarm(redis_url: str) -> Iterator[SwarmConfig]:
    """A swarm of the test's own (prefix), quick to give up on dead workers."""
    config = SwarmConfig(url=redis_url, prefix=f"test-{secrets.token_hex(4)}",
                         visibility_s=1.0, max_deliveries=3, max_queue=100,
                         enqueue_wait_s=0.0, unavailable_after_s=2.0)  # fmt: skip
    yield config
    wipe(redis_url, config.prefix)


@pytest_asyncio.fixture
async def client(swarm: SwarmConfig) -> AsyncIterator[aioredis.Redis]:
    c = connect(swarm)
    yield c
    await c.aclose()
