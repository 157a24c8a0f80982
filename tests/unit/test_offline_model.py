"""The offline model: deterministic answers that follow from the prompt."""

from __future__ import annotations

import pytest

from chimera.adapters.models.factory import describe_model, load_chat_model
from chimera.adapters.persona_files import load_persona
from chimera.domain.types import Persona, Task
from chimera.graphs.prompts import judge_messages, load_prompt, planner_messages, worker_messages
from chimera.graphs.schemas import Draft, Plan, Rating
from chimera.graphs.structured import structured_call


@pytest.fixture
def ava() -> Persona:
    return load_persona("ava")


async def _plan(ava: Persona, goal: str) -> Plan:
    model = load_chat_model("offline")
    messages = planner_messages(load_prompt("planner"), ava, goal, 10)
    return await structured_call(model, Plan, messages, node="planner")


async def test_a_goal_naming_five_trends_gives_five_tasks(ava: Persona) -> None:
    goal = (
        "Posts on this week's trends: thrifting, rental fashion, clothing repair, "
        "upcycling and capsule wardrobes"
    )
    plan = await _plan(ava, goal)
    assert [t.topic for t in plan.tasks] == [
        "thrifting",
        "rental fashion",
        "clothing repair",
        "upcycling",
        "capsule wardrobes",
    ]
    assert all(t.kind == "post" and t.topic in t.brief for t in plan.tasks)


@pytest.mark.parametrize(
    ("goal", "count"), [("three posts on thrifting", 3), ("7 posts about repair", 7)]
)
async def test_a_counted_goal_gives_that_many_distinct_tasks(
    ava: Persona, goal: str, count: int
) -> None:
    plan = await _plan(ava, goal)
    assert len(plan.tasks) == count
    assert len({t.brief for t in plan.tasks}) == count


async def test_reply_goals_plan_replies(ava: Persona) -> None:
    plan = await _plan(ava, "reply to the mention asking about mending jeans")
    assert plan.tasks[0].kind == "reply"


async def test_plan_is_capped_by_max_tasks(ava: Persona) -> None:
    model = load_chat_model("offline")
    messages = planner_messages(load_prompt("planner"), ava, "twelve posts on thrifting", 4)
    plan = await structured_call(model, Plan, messages, node="planner")
    assert len(plan.tasks) == 4


async def _draft(persona: Persona, topic: str, feedback: str = "") -> str:
    task = Task(id="t1", kind="post", topic=topic, brief=f"Write a post about {topic}: one tip.")
    messages = worker_messages(load_prompt("worker"), persona, task, feedback, "#AI")
    draft = await structured_call(load_chat_model("offline"), Draft, messages, node="worker")
    return draft.text


async def test_draft_follows_task_and_voice(ava: Persona) -> None:
    text = await _draft(ava, "capsule wardrobes")
    assert "capsule wardrobes" in text.lower()
    assert text.endswith("#AI")
    assert "♻️" in text  # ava's emoji habit, learned from her example posts
    assert len(text) <= 280
    kai = load_persona("kai")
    kai_text = await _draft(kai, "meal prep")
    assert (
        kai_text.replace("#AI", "") == kai_text.replace("#AI", "").lower()
    )  # kai writes lowercase
    assert await _draft(ava, "capsule wardrobes") == text  # deterministic


async def test_retry_feedback_changes_the_draft(ava: Persona) -> None:
    first = await _draft(ava, "a fast fashion haul")
    second = await _draft(
        ava, "a fast fashion haul", "Focus on thrifting a secondhand haul instead."
    )
    assert second != first
    assert "thrifting a secondhand haul" in second.lower()


async def _rate(persona: Persona, text: str) -> Rating:
    task = Task(id="t1", kind="post", topic="x", brief="brief")
    messages = judge_messages(load_prompt("judge"), persona, task, text)
    return await structured_call(load_chat_model("offline"), Rating, messages, node="judge")


async def test_rating_follows_the_draft_against_the_persona(ava: Persona) -> None:
    good = await _rate(ava, "Thrifting tip: check the wool content. ♻️ #Thrifting #AI")
    off = await _rate(ava, "Top gaming laptops this year. #Gaming #AI")
    bad = await _rate(ava, "My fast fashion haul is here and I love it! #Haul #AI")
    unlabelled = await _rate(ava, "Thrifting tip: check the wool content.")
    assert good.score == 5
    assert off.score == 4
    assert bad.score == 1 and "fast fashion haul" in bad.reasons[0]
    assert unlabelled.score == 4 and any("disclosure" in r for r in unlabelled.reasons)


def test_offline_is_labelled() -> None:
    assert "offline" in describe_model("offline")
    assert describe_model("openai:gpt-4.1-mini") == "openai:gpt-4.1-mini"
