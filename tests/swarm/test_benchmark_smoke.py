"""The swarm benchmark's helpers: goals of N distinct topics that the bare graph (shared
with benchmarks/judge_speed.py) fans out in full; percentiles pick ranks. (No timing is
asserted: the benchmark itself reports the figures.)"""

from __future__ import annotations

from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.judge_speed import bare_graph
from benchmarks.swarm import goal_of, pct


async def test_the_bare_graph_publishes_every_topic_of_a_benchmark_goal() -> None:
    graph = bare_graph(InMemorySaver())
    out = await graph.ainvoke({"goal": goal_of(5)}, {"configurable": {"thread_id": "b1"}})
    assert len(out["published"]) == 5
    assert out["summary"] == "5 published"


def test_percentiles_and_goals() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.5) == 51.0 and pct(values, 0.99) == 99.0 and pct(values, 1.0) == 100.0
    assert goal_of(12).count(",") == 11 and len(set(goal_of(12).split(", "))) == 12
