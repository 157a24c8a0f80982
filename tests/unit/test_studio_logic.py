"""The studio's pure pieces: roles, live progress lines, the graph picture, edit diffs."""

from __future__ import annotations

import pytest

from chimera.domain.roles import PermissionDenied, check_roles, may, require
from chimera.graphs.swarm import builder
from chimera.studio.logic.events import Progress, event_line
from chimera.studio.logic.inbox import edit_diff
from chimera.studio.logic.threads import graph_dot


@pytest.mark.parametrize(
    ("roles", "action", "allowed"),
    [
        (["reviewer"], "resume", True),
        (["reviewer"], "edit_prompts", False),
        (["prompt_engineer"], "replay", True),
        (["prompt_engineer"], "resume", False),
        (["reviewer", "prompt_engineer"], "manage_users", False),
        (["admin"], "manage_users", True),
        (["admin"], "resume", True),
        ([], "view", False),
    ],
)
def test_roles_decide_who_may_act(roles: list[str], action: str, allowed: bool) -> None:
    assert may(roles, action) is allowed


def test_a_refused_action_names_the_user_and_roles() -> None:
    with pytest.raises(PermissionDenied, match="rae may not edit prompts \\(roles: reviewer\\)"):
        require(["reviewer"], "edit_prompts", "rae")
    with pytest.raises(ValueError, match="unknown action"):
        may(["admin"], "launch")
    assert check_roles(["reviewer", "admin", "reviewer"]) == ["admin", "reviewer"]


def test_progress_counts_tasks_that_reached_the_gate() -> None:
    progress = Progress()
    assert progress.add({"event": "planned", "tasks": [{}, {}]}) == 0.0
    assert progress.add({"event": "drafted", "task_id": "t1"}) == 0.0
    assert progress.add({"event": "published", "task_id": "t1", "post_id": "p"}) == 0.5
    assert progress.add({"event": "review_requested", "task_id": "t2"}) == 1.0
    line = event_line({"event": "judged", "task_id": "t2",
                       "verdict": {"confidence": 0.5, "flags": ["sensitive:health"]}})  # fmt: skip
    assert line == "t2 judge: confidence 0.500, flagged sensitive:health"


def test_graph_dot_marks_where_tasks_stand() -> None:
    dot = graph_dot(builder.compile(), {"task:review": ["t2", "t1"], "summary": [""]})
    assert dot.startswith("digraph chimera {") and dot.endswith("}")
    assert '"task:review" [label="review\\nt1, t2", fillcolor="#ffd966"]' in dot
    assert '"summary" [label="summary", fillcolor="#ffd966"]' in dot
    assert '"task:judge" -> "task:review" [style=dashed]' in dot
    assert '"task:worker" [label="worker"]' in dot


def test_edit_diff_shows_what_changed() -> None:
    diff = edit_diff("one\ntwo", "one\n2")
    assert "-two" in diff and "+2" in diff and diff.startswith("--- draft")


def test_metric_series_orders_a_suites_runs_by_time_and_keeps_numbers() -> None:
    from chimera.studio.logic.browse import metric_series

    runs = [
        {"suite": "gate", "finished_at": "2026-02", "metrics": {"auroc": 0.9, "n": 10, "x": "a"}},
        {"suite": "gate", "finished_at": "2026-01", "metrics": {"auroc": 0.5, "ok": True}},
        {"suite": "other", "finished_at": "2026-03", "metrics": {"auroc": 0.1}},
    ]
    series = metric_series(runs, "gate")
    assert series == {"auroc": {"2026-01": 0.5, "2026-02": 0.9}, "n": {"2026-02": 10.0}}
    assert list(series["auroc"]) == ["2026-01", "2026-02"]


def test_reliability_rows_are_the_filled_bins() -> None:
    from chimera.studio.logic.browse import reliability_rows

    metrics = {"reliability": {"bins": [
        {"lower": 0.0, "upper": 0.1, "count": 0, "confidence": None, "publish_share": None},
        {"lower": 0.9, "upper": 1.0, "count": 4, "confidence": 0.95, "publish_share": 0.75},
    ]}}  # fmt: skip
    assert reliability_rows(metrics) == [{"confidence": 0.95, "publish_share": 0.75, "count": 4}]
    assert reliability_rows({"auroc": 0.9}) == []
