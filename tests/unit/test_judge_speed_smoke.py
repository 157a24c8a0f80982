"""benchmarks/judge_speed.py runs at a tiny size. No timing is asserted: speed is
measured by running the benchmark (benchmarks/README.md)."""

from __future__ import annotations

import uuid

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks import judge_speed


async def test_judge_latency_over_a_few_labelled_drafts() -> None:
    report = await judge_speed.judge_latency(drafts=4)
    assert report["drafts"] == 4
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"]
    assert set(report["by_persona"]) == {"ava"}  # the file starts with ava's drafts


async def test_the_bare_graph_has_the_shape_and_publishes_every_task() -> None:
    graph = judge_speed.bare_graph(InMemorySaver())
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    out = await graph.ainvoke({"goal": "posts on: a, b, c"}, config)
    assert sorted(out["published"]) == ["A post on a. #AI", "A post on b. #AI", "A post on c. #AI"]
    assert out["summary"] == "3 published"
    assert {"planner", "task", "summary"} <= set(graph.get_graph().nodes)


async def test_goal_overhead_compares_the_two_graphs() -> None:
    report = await judge_speed.goal_overhead(tasks=2, runs=1, checkpointer="memory")
    assert report["tasks"] == 2 and report["bare_published"] == 2
    assert report["chimera_published"] + report["chimera_interrupted"] == 2
    assert report["chimera_ms_per_task"] > 0 and report["bare_ms_per_task"] > 0
    assert report["ratio_chimera_to_bare"] == pytest.approx(
        report["chimera_ms_per_goal"] / report["bare_ms_per_goal"], rel=0.01
    )
    with pytest.raises(ValueError, match="--tasks"):
        await judge_speed.goal_overhead(tasks=0)


@pytest.mark.parametrize("database_url", ["external"], indirect=True)
async def test_goal_overhead_on_a_postgres_checkpointer(database_url: str) -> None:
    report = await judge_speed.goal_overhead(
        tasks=1, runs=1, checkpointer="postgres", database_url=database_url
    )
    assert report["checkpointer"] == "postgres" and report["bare_published"] == 1
    assert report["ratio_chimera_to_bare"] > 0
