"""The swarm benchmark's bare graph runs and has Chimera's shape; percentiles pick ranks.
(No timing asserted: the benchmark itself reports the figures.)"""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.swarm import bare_builder, goal_of, pct


async def test_the_bare_graph_plans_fans_out_and_publishes_every_task() -> None:
    graph = bare_builder().compile(checkpointer=InMemorySaver())
    out = await graph.ainvoke({"goal": goal_of(5)}, {"configurable": {"thread_id": "b1"}})
    assert sorted(r["task_id"] for r in out["results"]) == ["t1", "t2", "t3", "t4", "t5"]
    assert out["summary"] == "5 published"
    nodes = set(graph.get_graph(xray=True).nodes)
    assert {"planner", "summary", "task:worker", "task:judge", "task:publish"} <= nodes


def test_percentiles_and_goals() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.5) == 51.0 and pct(values, 0.99) == 99.0 and pct(values, 1.0) == 100.0
    assert goal_of(12).count(",") == 11 and len(set(goal_of(12).split(", "))) == 12
