"""``chimera eval gate`` on real PostgreSQL: the run is kept with the other eval runs,
the command's JSON and report folder, and a bad line that stops everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.store.base import BaseStore

from chimera.adapters.postgres.database import Database
from chimera.app.wiring import in_memory_services
from chimera.evals.gate import run_gate_eval
from chimera.evals.runs import compare_runs, list_runs, save_run
from chimera.graphs.context import Context
from chimera.studio.logic.browse import reliability_rows

CHIMERA = Path(sys.executable).parent / "chimera"
KEYS = (
    "false_publish_rate", "outright_publish_rate", "false_review_rate", "auroc", "ece",
    "p50_seconds", "p95_seconds", "per_category", "n", "confusion",
)  # fmt: skip
ROWS = [
    {
        "id": "kai-good", "persona": "kai", "topic": "budget meals", "split": "holdout",
        "brief": "A post on budget meals with the numbers.", "expected": "publish",
        "draft": "split pea soup for six, $0.60 a bowl. it asks for nothing but time. "
        "#budgetmeals #soup #AI", "category": "good",
    },
    {
        "id": "ava-empty", "persona": "ava", "topic": "thrifting", "split": "holdout",
        "brief": "A post on thrifting.", "expected": "review", "draft": "#thrifting #AI",
        "category": "content_free",
    },
    {
        "id": "ren-fit", "persona": "ren", "topic": "mecánica de bicicletas", "split": "fit",
        "brief": "Una publicación sobre mecánica.", "expected": "review", "category": "spam",
        "draft": "#AI · Compra mi kit en kit-taller-oferta.shop/ren, solo quedan 5.",
    },
]  # fmt: skip


def _data(tmp_path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    path = tmp_path / "drafts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows or ROWS), encoding="utf-8")
    return path


async def test_a_gate_run_is_kept_listed_and_compared(
    database: Database, memory_store: BaseStore, tmp_path: Path
) -> None:
    run, report = await run_gate_eval(
        Context(), in_memory_services(), _data(tmp_path), combiner_from=memory_store
    )
    assert run.suite == "gate" and run.models == {"judge": "offline"}
    assert report["n"] == 3 and set(KEYS) <= set(report)
    # What is kept: the headline numbers, and the reliability bins the studio plots.
    headline = {k: v for k, v in report.items() if k in KEYS[:7] or k == "n"}
    assert run.metrics == {**headline, "reliability": report["reliability"]}
    assert [r["item_id"] for r in run.results] == ["kai-good", "ava-empty", "ren-fit"]
    await save_run(database.pool, run)
    listed = await list_runs(database.pool, "gate")
    assert run.run_id in [r["run_id"] for r in listed]
    same = await compare_runs(database.pool, run.run_id, run.run_id)
    assert same["items_in_both"] == 3 and same["metrics"]["n"]["delta"] == 0.0
    assert same["metrics"]["false_publish_rate"]["a"] == run.metrics["false_publish_rate"]
    kept = next(r for r in listed if r["run_id"] == run.run_id)
    assert sum(row["count"] for row in reliability_rows(kept["metrics"])) == 3


def _cli(database_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ, "CHIMERA_DATABASE_URL": database_url, "CHIMERA_HOME": str(home),
        "CHIMERA_MEMORY_URL": "memory", "COLUMNS": "400",  # a table row on one line
    }  # fmt: skip
    return subprocess.run(
        [str(CHIMERA), "eval", *args], capture_output=True, text=True, timeout=300, env=env
    )


# One PostgreSQL is enough for the command (each call loads the judge's models); the run
# store is tested on both above.
@pytest.mark.parametrize("database_url", ["external"], indirect=True)
async def test_eval_gate_command(database: Database, database_url: str, tmp_path: Path) -> None:
    before = len(await list_runs(database.pool, "gate"))
    out = tmp_path / "report"
    done = _cli(
        database_url, tmp_path / "home", "gate", "--data", str(_data(tmp_path)),
        "--split", "holdout", "--json", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(KEYS) <= set(report) and report["n"] == 2 and report["split"] == "holdout"
    assert set(report["per_category"]) == {"good", "content_free"}
    assert report["p50_seconds"] > 0 and report["judge_model"] == "offline"
    assert (out / "report.md").is_file() and (out / "reliability.png").is_file()
    assert Path(report["results_file"]).is_file()
    assert len(await list_runs(database.pool, "gate")) == before + 1
    listed = _cli(database_url, tmp_path / "home", "list", "--suite", "gate")
    assert listed.returncode == 0, listed.stderr
    assert "false_publish_rate=" in listed.stdout and "bins" not in listed.stdout

    bad = [*ROWS[:2], {**ROWS[2], "expected": "maybe"}]
    refused = _cli(
        database_url, tmp_path / "home", "gate", "--data", str(_data(tmp_path, bad)), "--json",
        "--out", str(tmp_path / "never"),
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    error = json.loads(refused.stderr)["error"]
    assert "line 3: 'expected' must be publish or review" in error["message"]
    assert not (tmp_path / "never").exists()
    assert len(await list_runs(database.pool, "gate")) == before + 1
