"""Calibration on reviewer decisions read from the audit trail of real runs."""

from __future__ import annotations

import numpy as np
import pytest
from langgraph.store.base import BaseStore

from chimera.adapters.postgres.database import Database
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.errors import InputError
from chimera.evals.fit_combiner import (
    Label,
    expected_calibration_error,
    fit_combiner,
    reviewer_labels,
)
from chimera.graphs.memory.combiner import load_combiner, save_combiner

GOAL = "posts on: vaccines for kids and a fast fashion haul"


def test_expected_calibration_error_by_hand() -> None:
    y = np.array([1, 1, 0, 0])
    p = np.array([0.95, 0.95, 0.05, 0.45])
    # bin 9: mean p 0.95, freq 1 -> 0.05 (half the items); bin 0: 0.05 vs 0 -> 0.05 (a
    # quarter); bin 4: 0.45 vs 0 -> 0.45 (a quarter)
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.05 + 0.25 * 0.05 + 0.25 * 0.45)


def test_too_few_labels_is_a_clear_error() -> None:
    labels = [Label({"rubric": 1, "persona_consistency": 1, "policy": 1}, 0.9, True)] * 5
    with pytest.raises(InputError, match="at least 20 reviewer decisions"):
        fit_combiner(labels)


async def test_fit_on_reviewer_decisions_then_the_judge_uses_it(
    database: Database, memory_store: BaseStore
) -> None:
    runner = Runner(database, postgres_services(database), memory_store)
    before_labels = len(await reviewer_labels(database.pool))
    for i in range(12):
        view = await runner.run(GOAL, "ava", f"calib-{i}-{database.url[-6:]}")
        waiting = {item["task_id"]: item["id"] for item in view["interrupts"]}
        await runner.resume(view["thread_id"], waiting["t1"], "approve", reviewer="rae")
        await runner.resume(view["thread_id"], waiting["t2"], "reject", reviewer="rae")
    labels = await reviewer_labels(database.pool)
    assert len(labels) - before_labels == 24
    assert sum(label.positive for label in labels[-24:]) == 12

    combiner, report = fit_combiner(labels)
    assert report["ece_after"] < report["ece_before"]
    assert combiner.calibrated and combiner.fitted_on == len(labels)
    await save_combiner(memory_store, combiner)
    try:
        assert await load_combiner(memory_store) == combiner
        view = await runner.run(GOAL, "ava")
        reasons = [r for item in view["interrupts"] for r in item["reasons"]]
        assert f"confidence calibrated on {len(labels)} reviewer decisions" in reasons
        approved_like = next(i for i in view["interrupts"] if i["task_id"] == "t1")
        rejected_like = next(i for i in view["interrupts"] if i["task_id"] == "t2")
        assert approved_like["confidence"] > 0.5 > rejected_like["confidence"]
    finally:
        await memory_store.adelete(("calibration",), "judge")  # other tests stay uncalibrated
