"""How long the judge takes a draft, and what a whole goal costs a task through Chimera's
graph against a bare LangGraph graph of the same shape.

- **Judge.** ``judge_draft`` with the offline model over the labelled drafts of
  ``evals/gate/drafts.jsonl`` (memory seeded as a run seeds it, as ``chimera eval gate``
  does), after a few untimed warm-up drafts: p50/p95/p99 ms a draft. Target: p50 <= 30 ms
  on 2 cores.
- **Goal.** The same goal of N tasks for ava, run to its end or its interrupts, through
  Chimera's graph (intake, planner, Send, the task subgraph worker -> judge -> review |
  publish, summary; the offline model, thresholds at 0 so that unflagged drafts publish)
  and through a bare LangGraph graph of the same shape (planner, Send, a task subgraph
  worker -> judge -> publish, summary) whose nodes answer at once. Both are compiled with
  the same checkpointer (PostgreSQL on a fresh embedded server by default, or in memory),
  the runs alternate after one untimed warm-up each, and the medians are compared: ms a
  task, and Chimera's cost as a ratio to the bare graph's.

    uv run python -m benchmarks.judge_speed [--drafts 0] [--tasks 5] [--runs 5] \
        [--checkpointer postgres|memory] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.bare_graph import bare_graph
from benchmarks.memory_search import percentiles_ms
from benchmarks.report import parse_with_report_options, run_and_publish
from chimera.adapters.memory.postgres import in_memory_store
from chimera.app.wiring import in_memory_services
from chimera.evals.gate import judge_cases
from chimera.evals.gate_data import DEFAULT_DATA, load_cases
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_policies
from chimera.graphs.swarm import builder as chimera_builder

TOPICS = [
    "thrifting", "capsule wardrobes", "clothing repair", "upcycling", "textile recycling",
    "rental fashion", "sustainable fashion", "clothing swaps",
]  # fmt: skip
WARMUP_DRAFTS = 3


# -- the judge --------------------------------------------------------------------------------


async def judge_latency(drafts: int = 0, data: Path = DEFAULT_DATA) -> dict[str, Any]:
    """p50/p95/p99 ms a draft over the labelled drafts (all of them when ``drafts`` is 0)."""
    cases, personas = load_cases(data)
    if drafts:
        cases = cases[:drafts]
    context = Context()
    services = in_memory_services()
    # Untimed: the first drafts load the scorer, the embedder and the persona's memory.
    await judge_cases(context, services, cases[:WARMUP_DRAFTS], personas)
    results = await judge_cases(context, services, cases, personas)
    seconds = [r["seconds"] for r in results]
    by_persona = {
        p: percentiles_ms([r["seconds"] for r in results if r["persona"] == p])
        for p in sorted({r["persona"] for r in results})
    }
    return {"drafts": len(results), **percentiles_ms(seconds), "by_persona": by_persona}


# -- the goal -----------------------------------------------------------------------------------


@asynccontextmanager
async def open_checkpointer(kind: str, database_url: str | None) -> AsyncIterator[Any]:
    """In memory, or PostgreSQL (``database_url``, else a fresh embedded server in /tmp)."""
    if kind == "memory":
        yield InMemorySaver()
        return
    from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
    from chimera.adapters.embedded_postgres.uris import ensure_database
    from chimera.adapters.postgres.database import Database
    from chimera.settings import Settings

    home = None
    url = database_url
    if url is None:
        home = Path(tempfile.mkdtemp(prefix="chimera-bench-judge-", dir="/tmp"))
        url = ensure_database(EmbeddedPostgres(home).start(), "bench")
    db = await Database.open(Settings(database_url=url))
    try:
        yield db.checkpointer
    finally:
        await db.close()
        if home is not None:
            EmbeddedPostgres(home).stop()
            shutil.rmtree(home, ignore_errors=True)


async def _timed(
    graph: Any, payload: dict[str, Any], context: Context | None
) -> tuple[float, dict[str, Any]]:
    """Seconds of one run on a new thread, and what it returned."""
    config = {"configurable": {"thread_id": f"bench-{uuid.uuid4().hex[:12]}"}}
    started = time.perf_counter()
    output = await graph.ainvoke(payload, config, context=context, durability="sync")
    return time.perf_counter() - started, output


async def goal_overhead(
    tasks: int = 5, runs: int = 5, checkpointer: str = "postgres", database_url: str | None = None
) -> dict[str, Any]:
    """Median seconds of a ``tasks``-task goal through each graph, ms a task, and the ratio."""
    if not 1 <= tasks <= len(TOPICS):
        raise ValueError(f"--tasks must be from 1 to {len(TOPICS)}")
    if runs < 1:
        raise ValueError("--runs must be at least 1")
    goal = "posts on: " + ", ".join(TOPICS[:tasks])
    store = in_memory_store()
    await seed_policies(store)
    context = Context(
        services=in_memory_services(), review_threshold=0.0, publish_threshold=0.0,
        max_tasks=tasks,
    )  # fmt: skip
    async with open_checkpointer(checkpointer, database_url) as saver:
        chimera = chimera_builder.compile(checkpointer=saver, store=store)
        bare = bare_graph(saver)
        chimera_input = {"persona": "ava", "goal": goal}
        bare_input = {"goal": goal}
        await _timed(chimera, chimera_input, context)  # warm-up: models, memory, tables
        await _timed(bare, bare_input, None)
        chimera_s: list[float] = []
        bare_s: list[float] = []
        for _ in range(runs):
            seconds, output = await _timed(chimera, chimera_input, replace(context))
            chimera_s.append(seconds)
            seconds, bare_output = await _timed(bare, bare_input, None)
            bare_s.append(seconds)
    chimera_med, bare_med = statistics.median(chimera_s), statistics.median(bare_s)
    return {
        "tasks": tasks,
        "runs": runs,
        "checkpointer": checkpointer,
        "chimera_ms_per_goal": round(chimera_med * 1000, 2),
        "bare_ms_per_goal": round(bare_med * 1000, 2),
        "chimera_ms_per_task": round(chimera_med * 1000 / tasks, 2),
        "bare_ms_per_task": round(bare_med * 1000 / tasks, 2),
        "ratio_chimera_to_bare": round(chimera_med / bare_med, 2),
        # Of the last run: Chimera's flagged drafts interrupt, the bare graph publishes all.
        "chimera_published": len(output.get("published", [])),
        "chimera_interrupted": len(output.get("__interrupt__", [])),
        "bare_published": len(bare_output.get("published", [])),
    }


# -- the report -----------------------------------------------------------------------------------


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "judge": await judge_latency(args.drafts),
        "goal": await goal_overhead(args.tasks, args.runs, args.checkpointer, args.database_url),
    }


def render(report: dict[str, Any]) -> str:
    judge, goal = report["judge"], report["goal"]
    lines = [
        f"judge, {judge['drafts']} drafts: p50 {judge['p50_ms']} ms, p95 {judge['p95_ms']} ms, "
        f"p99 {judge['p99_ms']} ms (target p50 <= 30 ms)",
        *(
            f"  {persona}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms"
            for persona, row in judge["by_persona"].items()
        ),
        f"goal of {goal['tasks']} tasks, {goal['runs']} runs, {goal['checkpointer']} "
        f"checkpointer: chimera {goal['chimera_ms_per_task']} ms a task, bare LangGraph "
        f"{goal['bare_ms_per_task']} ms a task, ratio {goal['ratio_chimera_to_bare']} "
        f"(chimera published {goal['chimera_published']}, interrupted "
        f"{goal['chimera_interrupted']})",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--drafts", type=int, default=0, help="how many drafts (0: all)")
    parser.add_argument("--tasks", type=int, default=5, help="tasks in the goal")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each graph")
    parser.add_argument("--checkpointer", choices=("postgres", "memory"), default="postgres")
    return parse_with_report_options(parser, argv, "an empty database (default: embedded)")


def main(argv: Sequence[str] | None = None) -> int:
    return run_and_publish("judge_speed", parse_args(argv), measure, render)


if __name__ == "__main__":
    raise SystemExit(main())
