"""The planner says which topics of a goal it left out when there are more than max_tasks."""

from __future__ import annotations

from dataclasses import replace

from langgraph.checkpoint.memory import InMemorySaver

from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.persona_files import load_persona
from chimera.graphs.context import Context
from chimera.graphs.schemas import Plan, PlannedTask
from chimera.graphs.services import Services
from chimera.graphs.swarm import builder
from chimera.nodes.planner import left_out_topics
from chimera.nodes.summary import summarize


def _task(topic: str) -> PlannedTask:
    return PlannedTask(kind="post", topic=topic, brief=f"Write about {topic}.")


def test_left_out_topics_are_the_models_and_those_past_the_cap_once_each() -> None:
    plan = Plan(tasks=[_task(t) for t in ["a", "b", "c", "d"]], left_out=["e", " d ", ""])
    assert left_out_topics(plan, 2) == ["e", "d", "c"]
    assert left_out_topics(Plan(tasks=[_task("a")]), 2) == []


def test_the_summary_names_what_was_left_out() -> None:
    state: dict = {"tasks": [{"id": "t1"}], "published": [], "discarded": [], "left_out": ["x"]}
    assert summarize(state).endswith("1 topic(s) left out (over max_tasks): x")
    assert "left out" not in summarize({**state, "left_out": []})


async def test_a_goal_over_max_tasks_runs_the_first_ones_and_reports_the_rest() -> None:
    audit = InMemoryAuditLog()
    services = Services(publisher=InMemoryPublisher(), audit=audit, chat_model=load_chat_model)
    context = replace(Context(services=services), max_tasks=2)
    graph = builder.compile(checkpointer=InMemorySaver())
    goal = "posts on: thrifting, denim repair, capsule wardrobes and rental fashion"
    out = await graph.ainvoke(
        {"persona": load_persona("ava"), "goal": goal},
        {"configurable": {"thread_id": "over-cap"}},
        context=context,
    )
    assert [t["topic"] for t in out["tasks"]] == ["thrifting", "denim repair"]
    assert out["left_out"] == ["capsule wardrobes", "rental fashion"]
    planned = [e.payload for e in audit.events if e.event == "planned"]
    assert planned[0]["left_out"] == ["capsule wardrobes", "rental fashion"]
