"""Studio render time at scale: the threads page and the review inbox, with 10,000
threads and 1,000 items waiting for review.

Target: each page renders in at most 1 s of server time.

It starts its own embedded PostgreSQL in a fresh temporary folder (or uses
``--database-url``), creates a database, and loads N threads (``--threads``) of which P
(``--pending``) are interrupted with a review requested in the audit trail (the rows a
real run writes: ``review_requested`` with its payload and a ``judged`` verdict), by
plain SQL. Then it renders each page through ``streamlit.testing.v1.AppTest``, which
runs the page script in this process exactly as the Streamlit server does, signed in,
R times (``--repeats``) after one warm-up, and reports p50/max per page. The baseline is
the same pages on an empty database in the same run: the ratio says what scale costs.
The page's two queries (a count and one page of rows) are also timed on their own.

    uv run python -m benchmarks.studio_render [--threads 10000] [--pending 1000]
        [--repeats 10] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from benchmarks.report import publish

PAGES = Path(str(files("chimera") / "studio" / "pages"))
TARGET_S = 1.0
PASSWORD = "benchmark-password"

_SEED = """
INSERT INTO chimera_threads (thread_id, persona_id, goal, status, models, created_at, updated_at)
SELECT 'bench-' || g, (ARRAY['ava', 'kai'])[1 + g %% 2], 'Posts on: topic ' || g,
       CASE WHEN g <= %(pending)s THEN 'interrupted'
            ELSE (ARRAY['completed', 'failed', 'running'])[1 + g %% 3] END,
       '{"planner": "offline", "worker": "offline", "judge": "offline"}',
       now() - g * interval '1 minute', now() - g * interval '1 minute'
FROM generate_series(1, %(threads)s) AS g;
INSERT INTO chimera_audit (thread_id, task_id, event, actor, payload)
SELECT 'bench-' || g, 't1', e.event, e.actor, e.payload
FROM generate_series(1, %(pending)s) AS g
CROSS JOIN LATERAL (VALUES
  ('judged', 'judge:offline', jsonb_build_object('attempt', 1, 'verdict', jsonb_build_object(
     'confidence', 0.6, 'route', 'review', 'flags', '["sensitive:health"]'::jsonb,
     'reasons', '["policy: sensitive topic"]'::jsonb,
     'signals', '[{"name": "rubric", "score": 0.75, "weight": 1, "reasons": ["ok"]},
                  {"name": "policy", "score": 0.4, "weight": 1, "reasons": ["health"]}]'::jsonb))),
  ('review_requested', 'gate', jsonb_build_object('attempt', 1, 'task_id', 't1',
     'max_attempts', 3, 'text', 'Draft number ' || g || ' #AI', 'confidence', 0.6,
     'flags', '["sensitive:health"]'::jsonb, 'reasons', '["policy: sensitive topic"]'::jsonb))
) AS e(event, actor, payload);
ANALYZE chimera_threads;
ANALYZE chimera_audit;
"""


async def _prepare(url: str, threads: int, pending: int) -> str:
    from chimera.adapters.postgres.database import Database
    from chimera.adapters.postgres.users import UserStore
    from chimera.settings import Settings

    db = await Database.open(Settings(database_url=url))
    try:
        if threads:
            async with db.pool.connection() as conn:
                for statement in filter(str.strip, _SEED.split(";\n")):
                    await conn.execute(statement, {"threads": threads, "pending": pending})
        users = UserStore(db.pool)
        name = f"bench{secrets.token_hex(3)}"
        await users.add(name, PASSWORD, ["admin"])
        _user, token = await users.sign_in(name, PASSWORD)
        return token
    finally:
        await db.close()


async def _queries(url: str, repeats: int) -> dict[str, float]:
    from chimera.adapters.postgres.database import Database
    from chimera.settings import Settings
    from chimera.studio.logic.inbox import pending_reviews
    from chimera.studio.logic.threads import ThreadFilter, list_threads

    db = await Database.open(Settings(database_url=url))
    out: dict[str, list[float]] = {"threads_query": [], "threads_search_query": [],
                                   "inbox_query": []}  # fmt: skip
    try:
        for _ in range(repeats):
            for key, work in (
                ("threads_query", lambda: list_threads(db.pool, ThreadFilter(), 0)),
                (
                    "threads_search_query",
                    lambda: list_threads(db.pool, ThreadFilter(search="99"), 3),
                ),
                ("inbox_query", lambda: pending_reviews(db.pool, 0)),
            ):
                t = time.perf_counter()
                await work()
                out[key].append(time.perf_counter() - t)
    finally:
        await db.close()
    return {k: round(statistics.median(v) * 1000, 2) for k, v in out.items()}


def _render(page: str, token: str, repeats: int) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    # One AppTest per page, run again and again: its first run scans every installed
    # package for Streamlit components (seconds), which a real server does once at start.
    at = AppTest.from_file(str(PAGES / f"{page}.py"), default_timeout=120)
    at.session_state["studio_token"] = token
    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - t
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
        if i:  # the first render also opens the app (pool, memory, models): a warm-up
            times.append(elapsed)
    return {"p50_s": round(statistics.median(times), 4), "max_s": round(max(times), 4)}


def run(threads: int, pending: int, repeats: int, database_url: str | None) -> dict[str, Any]:
    home = None
    server = None
    if database_url is None:
        from chimera.adapters.embedded_postgres.server import EmbeddedPostgres

        home = Path(tempfile.mkdtemp(prefix="chimera-bench-"))
        server = EmbeddedPostgres(home)
        database_url = server.start()
    from chimera.adapters.embedded_postgres.uris import ensure_database

    report: dict[str, Any] = {
        "threads": threads, "pending": pending, "repeats": repeats, "target_s": TARGET_S,
    }  # fmt: skip
    os.environ["CHIMERA_MEMORY_URL"] = "memory"
    try:
        for label, n, p in (("baseline_empty", 0, 0), ("at_scale", threads, pending)):
            url = ensure_database(database_url, f"studio_bench_{label}_{secrets.token_hex(3)}")
            token = asyncio.run(_prepare(url, n, p))
            os.environ["CHIMERA_DATABASE_URL"] = url
            report[label] = {page: _render(page, token, repeats) for page in ("threads", "inbox")}
            report[label]["queries_ms"] = asyncio.run(_queries(url, repeats))
        for page in ("threads", "inbox"):
            base = report["baseline_empty"][page]["p50_s"]
            report[f"{page}_ratio_to_empty"] = round(report["at_scale"][page]["p50_s"] / base, 2)
            report[f"{page}_within_target"] = report["at_scale"][page]["max_s"] <= TARGET_S
    finally:
        if server is not None:
            server.stop()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"studio render, {report['threads']} threads, {report['pending']} pending"]
    for label in ("baseline_empty", "at_scale"):
        for page in ("threads", "inbox"):
            r = report[label][page]
            lines.append(f"  {label:15} {page:8} p50 {r['p50_s']:.3f} s  max {r['max_s']:.3f} s")
        lines.append(f"  {label:15} queries  {report[label]['queries_ms']} (ms, p50)")
    for page in ("threads", "inbox"):
        lines.append(
            f"  {page}: x{report[f'{page}_ratio_to_empty']} of empty; "
            f"within {report['target_s']} s: {report[f'{page}_within_target']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--pending", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="a server URL (default: embedded)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.threads, args.pending, args.repeats, args.database_url)
    publish("studio_render", report, args.json, render)


if __name__ == "__main__":
    main()
