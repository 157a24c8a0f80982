"""Eval runs kept twice: a JSONL file a person can read or diff, and rows in PostgreSQL
that ``chimera eval list`` and ``chimera eval compare`` query."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import InputError


def new_run_id(suite: str) -> str:
    return f"{suite}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class EvalRun:
    run_id: str
    suite: str
    models: dict[str, str]
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)  # each has an "item_id"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    results_file: str | None = None


def write_jsonl(run: EvalRun, folder: Path) -> Path:
    """One header line (the run) and one line per item."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run.run_id}.jsonl"
    header = {
        "run_id": run.run_id,
        "suite": run.suite,
        "models": run.models,
        "params": run.params,
        "metrics": run.metrics,
        "started_at": run.started_at.isoformat(),
    }
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"run": header}, ensure_ascii=False) + "\n")
        for item in run.results:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    run.results_file = str(path)
    return path


async def save_run(pool: Pool, run: EvalRun) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO chimera_eval_runs (run_id, suite, models, params, metrics, results_file,"
            " started_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                run.run_id, run.suite, Jsonb(run.models), Jsonb(run.params),
                Jsonb(run.metrics), run.results_file, run.started_at,
            ),
        )  # fmt: skip
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO chimera_eval_results (run_id, item_id, result) VALUES (%s, %s, %s)",
                [(run.run_id, str(item["item_id"]), Jsonb(item)) for item in run.results],
            )


async def list_runs(pool: Pool, suite: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE suite = %s", (suite,)) if suite else ("", ())
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT run_id, suite, models, params, metrics, results_file, started_at,"
            f" finished_at FROM chimera_eval_runs {where} ORDER BY finished_at DESC",
            params,
        )
        rows = await cur.fetchall()
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()} for row in rows
    ]


async def load_run(pool: Pool, run_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT run_id, suite, models, params, metrics FROM chimera_eval_runs"
            " WHERE run_id = %s",
            (run_id,),
        )
        run = await cur.fetchone()
        if run is None:
            raise InputError(f"unknown eval run {run_id!r}: see 'chimera eval list'")
        cur = await conn.execute(
            "SELECT item_id, result FROM chimera_eval_results WHERE run_id = %s ORDER BY item_id",
            (run_id,),
        )
        run["results"] = {row["item_id"]: row["result"] for row in await cur.fetchall()}
    return run


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


async def compare_runs(pool: Pool, run_a: str, run_b: str, *, key: str = "score") -> dict[str, Any]:
    """Metric by metric (B minus A), and the items present in both whose ``key`` moved most."""
    a, b = await load_run(pool, run_a), await load_run(pool, run_b)
    if a["suite"] != b["suite"]:
        raise InputError(f"runs of different suites: {a['suite']!r} and {b['suite']!r}")
    ma, mb = _numbers(a["metrics"]), _numbers(b["metrics"])
    metrics = {
        name: {"a": ma[name], "b": mb[name], "delta": round(mb[name] - ma[name], 6)}
        for name in sorted(ma.keys() & mb.keys())
    }
    shared = sorted(a["results"].keys() & b["results"].keys())
    moved = []
    for item in shared:
        sa, sb = a["results"][item].get(key), b["results"][item].get(key)
        if isinstance(sa, int | float) and isinstance(sb, int | float) and sa != sb:
            moved.append({"item_id": item, "a": sa, "b": sb, "delta": round(sb - sa, 6)})
    moved.sort(key=lambda m: -abs(m["delta"]))
    return {
        "a": {"run_id": run_a, "models": a["models"], "params": a["params"]},
        "b": {"run_id": run_b, "models": b["models"], "params": b["params"]},
        "metrics": metrics,
        "items_in_both": len(shared),
        "items_changed": moved,
    }
