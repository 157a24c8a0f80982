"""The swarm benchmark's helpers: goals of N distinct topics that the bare graph (shared
with benchmarks/judge_speed.py) fans out in full; percentiles pick ranks. (No timing is
asserted: the benchmark itself reports the figures.)"""

from __future__ import annotations

from dataclasses import replace

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.bare_graph import bare_graph
from benchmarks.instant_model import INSTANT, load_instant
from benchmarks.swarm import _publishing, goal_of, no_detectors, overhead, pct
from chimera.adapters.persona_files import load_persona
from chimera.adapters.postgres.database import Database
from chimera.app.wiring import in_memory_services
from chimera.graphs.swarm import builder


async def test_the_bare_graph_publishes_every_topic_of_a_benchmark_goal() -> None:
    for model in (None, INSTANT):
        graph = bare_graph(InMemorySaver(), model)
        config = {"configurable": {"thread_id": f"b-{model is None}"}}
        out = await graph.ainvoke({"goal": goal_of(5, "g1 ")}, config)
        assert sorted(out["published"]) == sorted(
            f"A post on g1 {topic}. #AI" for topic in goal_of(5).split(": ")[1].split(", ")
        )
        assert out["summary"] == "5 published"


async def test_chimera_with_the_instant_model_and_detectors_out_publishes_every_task() -> None:
    services = replace(in_memory_services(), chat_model=load_instant, nli_scorer=None,
                       detectors=no_detectors)  # fmt: skip
    graph = builder.compile(checkpointer=InMemorySaver())
    payload = {"persona": load_persona("ava"), "goal": goal_of(5, "g2 ")}
    out = await graph.ainvoke(payload, {"configurable": {"thread_id": "c1"}},
                              context=_publishing(services))  # fmt: skip
    assert len(out["published"]) == 5 and "__interrupt__" not in out
    # Out means out: the judge's signals are the rubric, consistency, policy and flags only.
    state = await graph.aget_state({"configurable": {"thread_id": "c1"}})
    names = {why.split(":")[0] for r in state.values["results"] for why in r["reasons"]}
    assert names == {"rubric", "persona_consistency", "policy", "flags"}


def test_percentiles_and_goals() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.5) == 51.0 and pct(values, 0.99) == 99.0 and pct(values, 1.0) == 100.0
    assert goal_of(12).count(",") == 11 and len(set(goal_of(12).split(", "))) == 12


@pytest.mark.parametrize("database_url", ["embedded"], indirect=True)  # pgvector: memory
async def test_the_overhead_figures_compare_like_with_like(database: Database) -> None:
    report = await overhead(database, goals=2, judged_goals=1, tasks=2)
    assert report["goals"] == 2 and report["judged_goals"] == 1
    for graph in ("bare", "chimera_detectors_out", "chimera_detectors_in"):
        assert report[f"{graph}_ms_per_goal"] > 0 and report[f"{graph}_cpu_ms_per_goal"] > 0
    assert report["ratio_detectors_out"] == pytest.approx(
        report["chimera_detectors_out_ms_per_goal"] / report["bare_ms_per_goal"], abs=0.01
    )
