"""The review node keeps one record per interrupt, whichever way its answer came: the id
it records under is the one LangGraph surfaced, and a decision recorded first (by a CLI
or studio resume cut short) stands over a rival answer given later."""

from __future__ import annotations

from chimera.adapters.inmemory import InMemoryDecisionLog
from support.review_harness import Review


async def test_the_decision_is_recorded_under_the_id_langgraph_surfaced() -> None:
    log = InMemoryDecisionLog()
    r = Review(decisions=log)
    await r.start()
    await r.answer({"decision": "aprove"})  # refused: asked again under a new id
    asked = await r.asked()
    await r.answer({"decision": "approve", "reviewer": "rae"})
    assert list(log.rows) == [("review-loop", asked["id"])]
    (row,) = log.rows.values()
    assert (row.task_id, row.attempt, row.decision["decision"]) == ("t1", 1, "approve")
    assert row.decision["reviewer"] == "rae"
    assert len(r.publisher.posts) == 1


async def test_a_decision_recorded_first_stands_over_a_rival_answer() -> None:
    log = InMemoryDecisionLog()
    r = Review(decisions=log)
    asked = await r.start()
    # A reviewer's reject was recorded, and its resume died before the graph moved on.
    reject = {"decision": "reject", "reviewer": "kim", "feedback": "not for us"}
    await log.record("review-loop", asked["id"], "t1", 1, reject)  # type: ignore[arg-type]
    out = await r.answer({"decision": "approve", "reviewer": "rae"})
    assert r.publisher.posts == {}
    assert out["discarded"][0]["reviewer"] == "kim"
    (overruled,) = r.events("decision_overruled")
    assert overruled["reviewer"] == "rae" and "reject by kim" in overruled["standing"]
    assert [e["reviewer"] for e in r.events("decided")] == ["kim"]


async def test_each_attempt_is_recorded_apart() -> None:
    log = InMemoryDecisionLog()
    r = Review(decisions=log)
    first = await r.start()
    await r.answer({"decision": "retry", "reviewer": "kim", "feedback": "shorter"})
    second = await r.asked()
    assert second["attempt"] == 2
    await r.answer({"decision": "approve", "reviewer": "rae"})
    by_attempt = {row.attempt: row for row in log.rows.values()}
    assert by_attempt[1].interrupt_id == first["id"]
    assert by_attempt[1].decision["decision"] == "retry"
    assert by_attempt[2].interrupt_id == second["id"]
    assert by_attempt[2].decision["decision"] == "approve"
    assert len(r.publisher.posts) == 1


async def test_without_a_log_the_answer_is_taken_as_given() -> None:
    r = Review()
    await r.start()
    await r.answer({"decision": "approve", "reviewer": "rae"})
    assert len(r.publisher.posts) == 1
