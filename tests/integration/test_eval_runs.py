"""Eval suites: a PersonaGym run with the configured (offline) models, kept as JSONL and
in PostgreSQL, listed and compared; and the ``chimera eval`` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from chimera.adapters.memory.postgres import in_memory_store
from chimera.adapters.postgres.database import Database
from chimera.app.wiring import in_memory_services
from chimera.domain.errors import InputError
from chimera.evals.personagym_suite import load_items, run_suite
from chimera.evals.runs import compare_runs, list_runs, save_run, write_jsonl
from chimera.graphs.context import Context

CHIMERA = Path(sys.executable).parent / "chimera"


def test_sampling_is_seeded() -> None:
    first = load_items(personas=5, questions=2, seed=7)
    assert first == load_items(personas=5, questions=2, seed=7)
    assert first != load_items(personas=5, questions=2, seed=8)
    assert len(first) == 10 and len({i.persona_index for i in first}) == 5


async def test_run_save_list_compare(database: Database, tmp_path: Path) -> None:
    context = Context()
    services = in_memory_services()
    store = in_memory_store()
    run_a = await run_suite(context, services, store, personas=3, questions=1, seed=1)
    assert run_a.metrics["n"] == 3 and run_a.models == {"worker": "offline", "judge": "offline"}
    assert all(0 <= r["score"] <= 1 and 1 <= r["rubric"] <= 5 for r in run_a.results)
    path = write_jsonl(run_a, tmp_path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["run"]["run_id"] == run_a.run_id
    assert [line["item_id"] for line in lines[1:]] == [r["item_id"] for r in run_a.results]
    await save_run(database.pool, run_a)

    # A different worker prompt makes a different run of the same items.
    prompt_b = context.worker_prompt + "\nAlways mention where you live."
    run_b = await run_suite(
        replace(context, worker_prompt=prompt_b), services, store, personas=3, questions=1, seed=1
    )
    assert run_b.params["worker_prompt"] != run_a.params["worker_prompt"]
    await save_run(database.pool, run_b)
    listed = [r["run_id"] for r in await list_runs(database.pool, "personagym")]
    assert listed.index(run_b.run_id) < listed.index(run_a.run_id)  # newest first
    report = await compare_runs(database.pool, run_a.run_id, run_b.run_id)
    assert report["items_in_both"] == 3
    assert report["metrics"]["n"] == {"a": 3.0, "b": 3.0, "delta": 0.0}
    with pytest.raises(InputError, match="unknown eval run"):
        await compare_runs(database.pool, run_a.run_id, "no-such-run")


def test_eval_persona_consistency_command(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    rows = [
        {"utterance": "I have nine dogs.", "persona": "I have two dogs.", "label": "contradiction"},
        {"utterance": "I love my two dogs.", "persona": "I have two dogs.", "label": "entailment"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "report"
    done = subprocess.run(
        [str(CHIMERA), "eval", "persona-consistency", "--data", str(data), "--format", "jsonl",
         "--json", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 2 and report["accuracy"] == 1.0
    assert (out / "confusion_matrix.png").is_file() and (out / "reliability.png").is_file()
    bad = subprocess.run(
        [str(CHIMERA), "eval", "persona-consistency", "--data", str(tmp_path / "missing.txt")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "missing.txt" in bad.stderr
