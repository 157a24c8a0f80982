"""The review node asks again when a resume value is malformed, in memory (the task
subgraph from its review: support/review_harness.py)."""

from __future__ import annotations

from typing import Any

import pytest

from chimera.graphs.memory import namespaces as ns
from support.review_harness import Review

MALFORMED = [
    ("approve", "a decision is a mapping"),
    (["approve"], "a decision is a mapping"),
    ({"decision": "aprove"}, "decision must be one of approve, edit, reject, retry"),
    ({"decision": None}, "decision must be one of"),
    ({"decision": "edit"}, "'edit' needs the new text"),
    ({"decision": "edit", "text": "   "}, "'edit' needs the new text"),
    ({"decision": "approve", "text": "new words"}, "goes with decision 'edit' only"),
    ({"decision": "approve", "txt": "new words"}, "unknown field(s) 'txt'"),
    ({"decision": "edit", "text": 42}, "'text' must be text"),
    ({"decision": "approve", "reviewer": ["rae"]}, "'reviewer' must be text"),
]


@pytest.mark.parametrize(("value", "message"), MALFORMED)
async def test_a_malformed_answer_asks_again_with_what_was_wrong(value: Any, message: str) -> None:
    r = Review()
    first = await r.start()
    await r.answer(value)
    again = await r.asked()
    assert message in again["error"]
    assert again["id"] != first["id"]
    # The same item is asked about, with nothing else changed.
    assert {k: v for k, v in again.items() if k not in ("id", "error")} == {
        k: v for k, v in first.items() if k != "id"
    }
    assert r.publisher.posts == {} and r.models == []
    assert r.events("decision_refused") == [{"attempt": 1, "error": again["error"]}]
    assert r.events("decided") == []


async def test_a_secret_pasted_as_an_answer_is_not_repeated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-test-SECRET-123456789"
    monkeypatch.setenv("CHIMERA_OPENAI_API_KEY", secret)
    r = Review()
    await r.start()
    await r.answer({"decision": secret})
    state = await r.graph.aget_state(r.config)
    assert "[REDACTED]" in (await r.asked())["error"]
    assert secret not in repr(state.values) + repr(state.interrupts) + repr(r.audit.events)
    # (LangGraph's own pending writes keep the raw resume value as it was sent.)


async def test_the_last_attempt_refuses_a_retry_and_takes_a_reject() -> None:
    r = Review(attempt=3, max_attempts=3)
    await r.start()
    await r.answer({"decision": "retry", "feedback": "once more"})
    assert "used all 3 attempts" in (await r.asked())["error"]
    assert r.models == []  # the worker did not run a fourth time
    out = await r.answer({"decision": "reject", "reviewer": "rae", "feedback": "off topic"})
    assert out["discarded"] == [
        {"task_id": "t1", "attempt": 3, "reviewer": "rae", "reason": "off topic"}
    ]
    assert await r.pending() == 0 and r.publisher.posts == {}


async def test_after_mistakes_a_good_answer_is_taken_once() -> None:
    r = Review()
    await r.start()
    await r.answer({"decision": "aprove"})
    await r.answer({"decision": "edit"})
    # Each resume re-runs the node from its top, replaying the earlier answers in order:
    # the refusals are not recorded again, and the request was audited once.
    assert [e["error"][:20] for e in r.events("decision_refused")] == [
        "decision must be one",
        "decision 'edit' need",
    ]
    out = await r.answer(
        {"decision": "edit", "text": "Ask your paediatrician. #AI", "reviewer": "sam"}
    )
    assert await r.pending() == 0
    assert [p.text for p in r.publisher.posts.values()] == ["Ask your paediatrician. #AI"]
    assert out["published"][0]["review"] == "human"
    assert len(r.events("decision_refused")) == 2
    assert len(r.events("review_requested")) == 1
    assert r.events("decided") == [
        {"attempt": 1, "decision": "edit", "reviewer": "sam", "text": "Ask your paediatrician. #AI"}
    ]
    (label,) = await r.store.asearch(ns.interactions("ava"))
    assert label.value["decision"] == "edit" and label.value["reviewer"] == "sam"


async def test_a_valid_retry_still_goes_back_to_the_worker() -> None:
    r = Review()
    await r.start()
    await r.answer({"decision": "retry", "feedback": "Talk about thrifting instead."})
    drafted = r.events("drafted")
    assert [d["attempt"] for d in drafted] == [2]
    assert drafted[0]["feedback"] == "Talk about thrifting instead."
    assert r.events("decision_refused") == []
