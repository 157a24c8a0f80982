"""How many bytes of checkpoints a thread leaves behind, per thread and per task, and how
much ``chimera threads prune`` frees.

Runs goals of 1, 3 and 5 tasks with the offline model on a fresh embedded PostgreSQL (in a
temporary folder under /tmp) or on ``--database-url``, each to its end (interrupts are
approved), then measures LangGraph's three checkpoint tables per thread and prunes them.

    uv run python -m benchmarks.checkpoint_size [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.report import publish
from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.adapters.postgres.database import Database
from chimera.adapters.postgres.retention import CHECKPOINT_TABLES, checkpoint_bytes
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.settings import Settings

TOPICS = ["thrifting", "capsule wardrobes", "clothing repair", "upcycling", "textile recycling"]


async def _finish(runner: Runner, thread_id: str, goal: str) -> dict[str, Any]:
    view = await runner.run(goal, "ava", thread_id)
    while view["interrupts"]:
        view = await runner.resume(thread_id, view["interrupts"][0]["id"], "approve",
                                   reviewer="bench")  # fmt: skip
    return view


async def measure(url: str, repeats: int) -> dict[str, Any]:
    db = await Database.open(Settings(database_url=url))
    runner = Runner(db, postgres_services(db))
    rows: list[dict[str, Any]] = []
    try:
        for n in (1, 3, 5):
            goal = "posts on: " + ", ".join(TOPICS[:n])
            sizes = []
            for r in range(repeats):
                thread_id = f"bench-{n}-{r}"
                await _finish(runner, thread_id, goal)
                sizes.append(await checkpoint_bytes(db.pool, [thread_id]))
            rows.append({"tasks": n, "bytes_per_thread": statistics.median(sizes),
                         "bytes_per_task": statistics.median(sizes) / n})  # fmt: skip
        async with db.pool.connection() as conn:
            await conn.execute("UPDATE chimera_threads SET updated_at = now() - interval '2 days'")
            counts = {}
            for table in CHECKPOINT_TABLES:
                cur = await conn.execute(f"SELECT count(*) AS n FROM {table}")
                row = await cur.fetchone()
                counts[table] = row["n"] if row else 0
        pruned = await runner.prune(1)
    finally:
        await db.close()
    base = rows[0]["bytes_per_thread"]
    for row in rows:
        row["ratio_to_one_task"] = round(row["bytes_per_thread"] / base, 2)
    return {"threads": rows, "rows_before_prune": counts,
            "pruned_threads": len(pruned["threads"]), "bytes_freed": pruned["bytes"]}  # fmt: skip


def render(report: dict[str, Any]) -> str:
    lines = ["tasks  bytes/thread  bytes/task  x(1 task)"]
    for r in report["threads"]:
        per_thread, per_task = r["bytes_per_thread"], r["bytes_per_task"]
        lines.append(
            f"{r['tasks']:>5}  {per_thread:>12.0f}  {per_task:>10.0f}  {r['ratio_to_one_task']:>9}"
        )
    lines.append(f"prune: {report['pruned_threads']} threads, {report['bytes_freed']} bytes freed")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", help="an empty database (default: a fresh embedded one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = None
    try:
        url = args.database_url
        if url is None:
            home = Path(tempfile.mkdtemp(prefix="chimera-bench-ckpt-", dir="/tmp"))
            url = ensure_database(EmbeddedPostgres(home).start(), "bench")
        report = asyncio.run(measure(url, args.repeats))
    finally:
        if home is not None:
            EmbeddedPostgres(home).stop()
            shutil.rmtree(home, ignore_errors=True)
    publish("checkpoint_size", report, args.json, render)


if __name__ == "__main__":
    main()
