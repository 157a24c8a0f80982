"""What an operator sees of the swarm (``chimera swarm status``), read from Redis itself."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from chimera.adapters.redis_streams.config import GROUP, SwarmConfig

WINDOW_S = 60


def _ms(entry_id: str) -> int:
    return int(entry_id.split("-")[0])


async def read_status(client: aioredis.Redis, config: SwarmConfig) -> dict[str, Any]:
    """Queue depth (waiting, not yet taken), pending per consumer, dead letters, live
    workers (from their heartbeats), the oldest pending task's age, and throughput."""
    seconds, micros = await client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    length = int(await client.xlen(config.tasks))
    try:
        summary: Any = await client.xpending(config.tasks, GROUP)
    except ResponseError:  # no group yet: no worker or graph has used this Redis
        summary = {"pending": 0, "min": None, "consumers": []}
    pending = int(summary["pending"])
    consumers = {str(c["name"]): int(c["pending"]) for c in summary["consumers"]}
    oldest = (now_ms - _ms(summary["min"])) / 1000 if summary.get("min") else None
    recent: Any = await client.xrange(config.completions, min=str(now_ms - WINDOW_S * 1000))
    failed = sum(1 for _id, fields in recent if fields.get("status") == "failed")
    workers = []
    async for key in client.scan_iter(match=config.workers_pattern, count=100):
        raw: Any = await client.get(key)
        if raw:
            info = json.loads(raw)
            info["pending"] = consumers.get(info["name"], 0)
            workers.append(info)
    workers.sort(key=lambda w: w["name"])
    return {
        "redis": config.shown_url,
        "prefix": config.prefix,
        "queue_depth": max(length - pending, 0),
        "pending": pending,
        "pending_per_consumer": {n: p for n, p in sorted(consumers.items()) if p},
        "oldest_pending_s": round(oldest, 3) if oldest is not None else None,
        "dead_letters": int(await client.xlen(config.dead)),
        "live_workers": workers,
        "completed_last_minute": len(recent),
        "failed_last_minute": failed,
        "throughput_per_s": round(len(recent) / WINDOW_S, 3),
    }
