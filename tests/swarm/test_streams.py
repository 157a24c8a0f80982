"""The Redis Streams executor and consumer against a real Redis: a job is queued once and
re-attached to, an outcome delivered twice is recorded once, dead workers' tasks are
reclaimed while live ones keep theirs, failing and malformed tasks are dead-lettered,
a full stream is refused, a stopping worker releases its tasks, a lost Redis is an error."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from chimera.adapters.persona_files import load_persona
from chimera.adapters.redis_streams.config import GROUP, QueueFull, QueueUnavailable, SwarmConfig
from chimera.adapters.redis_streams.consumer import StreamConsumer
from chimera.adapters.redis_streams.executor import RedisExecutor
from chimera.adapters.redis_streams.status import read_status
from chimera.domain.swarm import DraftJob, DraftOutcome, drafted, encode_outcome
from chimera.graphs.context import Context
from chimera.nodes.worker import job_for
from support.redis_server import free_port

CONTEXT = Context()
PERSONA = load_persona("ava")


def job(n: int, thread: str = "th-streams") -> DraftJob:
    task: Any = {"id": f"t{n}", "kind": "post", "topic": f"topic {n}", "brief": "b"}
    return job_for(CONTEXT, thread, PERSONA, task, 1, "")


async def never_here(job: DraftJob) -> DraftOutcome:
    raise AssertionError("a Redis executor never drafts in the graph process")


class Drafter:
    """A worker's handler that records what it drafted; optionally slow or failing."""

    def __init__(self, name: str, delay: float = 0.0, error: str | None = None) -> None:
        self.name, self.delay, self.error = name, delay, error
        self.calls: list[str] = []

    async def __call__(self, job: DraftJob) -> DraftOutcome:
        self.calls.append(job["job_id"])
        await asyncio.sleep(self.delay)
        if self.error:
            raise RuntimeError(self.error)
        return drafted(job["job_id"], f"draft of {job['task']['id']}", "", [], self.name)


@asynccontextmanager
async def serving(
    client: aioredis.Redis, swarm: SwarmConfig, handler: Callable[[DraftJob], Awaitable[Any]],
    name: str = "w1", grace_s: float = 5.0, concurrency: int = 2,
) -> AsyncIterator[StreamConsumer]:  # fmt: skip
    consumer = StreamConsumer(client, swarm, name, handler, concurrency=concurrency,
                              grace_s=grace_s)  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)


async def test_a_job_is_queued_once_and_every_ask_reads_the_same_outcome(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    one = job(1)
    waiting = [asyncio.create_task(executor.run(one, never_here)) for _ in range(3)]
    await asyncio.sleep(0.3)
    assert await client.xlen(swarm.tasks) == 1, "three asks of one job queue it once"
    drafter = Drafter("w1")
    async with serving(client, swarm, drafter):
        outcomes = await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
        # A graph restarted from its checkpoint asks again: it re-attaches, nothing queued.
        again = await asyncio.wait_for(executor.run(one, never_here), timeout=5)
    assert drafter.calls == [one["job_id"]]
    assert {o["text"] for o in [*outcomes, again]} == {"draft of t1"}
    assert again["worker"] == "w1"
    assert await client.xlen(swarm.tasks) == 0, "a finished task leaves the stream"


async def test_an_outcome_delivered_twice_is_recorded_once(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    one = job(2)
    consumer = StreamConsumer(client, swarm, "w1", Drafter("w1"))
    await consumer._write("", drafted(one["job_id"], "first", "", [], "w1"))
    await consumer._write("", drafted(one["job_id"], "second", "", [], "w2"))
    assert await client.xlen(swarm.result(one["job_id"])) == 1
    executor = RedisExecutor(swarm, client)
    reads = [await executor.run(one, never_here) for _ in range(2)]
    assert [r["text"] for r in reads] == ["first", "first"]
    assert await client.xlen(swarm.tasks) == 0, "a job already done is not queued"
    assert await client.xlen(swarm.completions) == 1


async def test_a_dead_workers_task_is_reclaimed_and_a_live_workers_task_is_kept(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    dead_job, slow_job = job(3), job(4)
    first = asyncio.create_task(executor.run(dead_job, never_here))
    await asyncio.sleep(0.2)
    # A worker takes the task and dies (it never acknowledges, never renews).
    taken = await client.xreadgroup(GROUP, "dead-worker", {swarm.tasks: ">"}, count=1)
    assert taken and taken[0][1][0][1]["job_id"] == dead_job["job_id"]
    # A live worker takes a task that runs for three visibility timeouts, renewing it.
    slow = Drafter("slow", delay=3 * swarm.visibility_s)
    rescuer = Drafter("rescuer")
    started = time.monotonic()
    async with serving(client, swarm, slow, name="slow", concurrency=1):
        second = asyncio.create_task(executor.run(slow_job, never_here))
        await asyncio.sleep(0.3)
        async with serving(client, swarm, rescuer, name="rescuer"):
            outcome = await asyncio.wait_for(first, timeout=10)
            assert time.monotonic() - started >= swarm.visibility_s * 0.9
            slow_outcome = await asyncio.wait_for(second, timeout=10)
    assert outcome["worker"] == "rescuer"
    assert slow_outcome["worker"] == "slow", "a live worker's task was stolen"
    assert rescuer.calls == [dead_job["job_id"]]
    assert slow.calls == [slow_job["job_id"]]


async def test_a_draft_whose_task_another_worker_took_over_stops_and_writes_nothing(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    one = job(5)
    stopped = asyncio.Event()

    class Stalled(Drafter):
        async def __call__(self, job: DraftJob) -> DraftOutcome:
            try:
                return await super().__call__(job)
            except asyncio.CancelledError:
                stopped.set()
                raise

    slow = Stalled("slow", delay=30)
    waiting = asyncio.create_task(executor.run(one, never_here))
    async with serving(client, swarm, slow, name="slow", concurrency=1) as consumer:
        for _ in range(50):
            if slow.calls:
                break
            await asyncio.sleep(0.1)
        # Another worker takes the task over, as it would from a worker that looked dead.
        entry = (await client.xpending_range(swarm.tasks, GROUP, min="-", max="+", count=1))[0]
        await client.xclaim(swarm.tasks, GROUP, "rescuer", 0, [entry["message_id"]])
        await asyncio.wait_for(stopped.wait(), timeout=3 * swarm.heartbeat_s + 2)
        assert consumer.taken_over == 1 and consumer.done == 0
    assert not await client.exists(swarm.result(one["job_id"])), "the rescuer writes it"
    held = await client.xpending_range(swarm.tasks, GROUP, min="-", max="+", count=1)
    assert held[0]["consumer"] == "rescuer", "the stopped worker left the task to its holder"
    waiting.cancel()


async def test_a_task_failing_every_delivery_is_dead_lettered_as_a_critical_failure(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    broken = Drafter("w1", error="the model is down")
    async with serving(client, swarm, broken):
        outcome = await asyncio.wait_for(executor.run(job(5), never_here), timeout=20)
    assert outcome["status"] == "failed"
    assert "delivered 4 times" in outcome["error"]
    assert "the model is down" in outcome["error"]
    assert len(broken.calls) == swarm.max_deliveries
    dead = await client.xrange(swarm.dead)
    assert [d[1]["job_id"] for d in dead] == [job(5)["job_id"]]
    status = await read_status(client, swarm)
    assert status["dead_letters"] == 1 and status["failed_last_minute"] == 1
    assert status["pending"] == 0 and status["queue_depth"] == 0


async def test_malformed_messages_are_dead_lettered_and_the_worker_carries_on(
    client: aioredis.Redis, swarm: SwarmConfig, caplog: pytest.LogCaptureFixture
) -> None:
    executor = RedisExecutor(swarm, client)
    await executor._queue(job(6))  # makes the group, then garbage arrives before a real job
    for fields in [{"job": "not json"}, {"other": "x"}, {"job": '{"job_id": "j-x"}'}]:
        await client.xadd(swarm.tasks, fields)
    good = job(7)
    drafter = Drafter("w1")
    async with serving(client, swarm, drafter):
        outcome = await asyncio.wait_for(executor.run(good, never_here), timeout=10)
        await asyncio.wait_for(executor.run(job(6), never_here), timeout=10)
    assert outcome["status"] == "drafted"
    dead = [fields for _id, fields in await client.xrange(swarm.dead)]
    assert len(dead) == 3
    assert all("not a draft job" in d["reason"] for d in dead)
    # A malformed message naming a job id answers that job, so no graph waits for ever.
    failed = await client.xrange(swarm.result("j-x"))
    assert failed and '"status":"failed"' in failed[0][1]["outcome"]
    assert await client.xlen(swarm.tasks) == 0
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 3


async def test_a_full_task_stream_refuses_with_a_clear_error_and_adds_nothing(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    small = replace(swarm, max_queue=2)
    executor = RedisExecutor(small, client)
    for n in (8, 9):
        await executor._queue(job(n))
    with pytest.raises(QueueFull, match="start more workers"):
        await executor.run(job(10), never_here)
    assert await client.xlen(small.tasks) == 2
    assert not await client.exists(small.enqueued(job(10)["job_id"]))


async def test_a_stopping_worker_releases_its_task_to_another_at_once(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    slow_swarm = replace(swarm, visibility_s=30.0)  # reclaiming by timeout would take 30 s
    executor = RedisExecutor(slow_swarm, client)
    stuck = Drafter("stuck", delay=60)
    waiting = asyncio.create_task(executor.run(job(11), never_here))
    async with serving(client, slow_swarm, stuck, name="stuck", grace_s=0.2):
        while not stuck.calls:
            await asyncio.sleep(0.05)
    started = time.monotonic()
    async with serving(client, slow_swarm, Drafter("next"), name="next"):
        outcome = await asyncio.wait_for(waiting, timeout=10)
    assert outcome["worker"] == "next"
    assert time.monotonic() - started < 5


async def test_a_stopping_worker_finishes_its_task_within_the_grace(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    busy = Drafter("busy", delay=0.8)
    waiting = asyncio.create_task(executor.run(job(17), never_here))
    async with serving(client, swarm, busy, name="busy", grace_s=5):
        while not busy.calls:
            await asyncio.sleep(0.02)
    # run() returned (stop was set mid-task): the outcome was written before it did.
    assert await client.xlen(swarm.result(job(17)["job_id"])) == 1
    assert (await asyncio.wait_for(waiting, timeout=5))["worker"] == "busy"
    assert not await client.exists(swarm.worker("busy")), "a stopped worker is not live"


async def test_status_counts_waiting_pending_and_live_workers(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    executor = RedisExecutor(swarm, client)
    for n in range(12, 15):
        await executor._queue(job(n))
    hold = Drafter("w1", delay=30)
    async with serving(client, swarm, hold, name="w1", concurrency=1, grace_s=0.1):
        while not hold.calls:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        status = await read_status(client, swarm)
    assert status["queue_depth"] == 2 and status["pending"] == 1
    assert status["pending_per_consumer"] == {"w1": 1}
    assert [w["name"] for w in status["live_workers"]] == ["w1"]
    assert status["oldest_pending_s"] is not None and status["oldest_pending_s"] >= 0.2
    assert Counter(type(v).__name__ for v in status.values())["NoneType"] == 0


async def test_a_redis_that_is_gone_is_a_clear_error(swarm: SwarmConfig) -> None:
    gone = replace(swarm, url=f"redis://127.0.0.1:{free_port()}/0", unavailable_after_s=1.0)
    executor = RedisExecutor(gone)
    started = time.monotonic()
    with pytest.raises(QueueUnavailable, match="chimera run --thread"):
        await executor.run(job(15), never_here)
    assert time.monotonic() - started < 5
    await executor.close()


async def test_outcomes_written_by_hand_are_read_back(
    client: aioredis.Redis, swarm: SwarmConfig
) -> None:
    # An outcome that is not one (a foreign writer) comes back as a failure, not a crash.
    one = job(16)
    await client.xadd(swarm.result(one["job_id"]), {"outcome": "garbage"})
    outcome = await RedisExecutor(swarm, client).run(one, never_here)
    assert outcome["status"] == "failed" and "could not be read" in outcome["error"]
    assert encode_outcome(outcome)
