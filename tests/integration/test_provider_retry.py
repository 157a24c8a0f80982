"""The model nodes' RetryPolicy over real HTTP, on a real PostgreSQL.

The openai client retries once by itself (max_retries=1), so the graph's policy shows
only when a failure outlasts that: two 503s in a row fail the client's call, and
LangGraph runs the node again. A 400 and a malformed structured reply are not
transient: one request each, and the run fails with the provider's own error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langgraph.store.base import BaseStore

from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.postgres.database import Database
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from chimera.domain.errors import ModelOutputError
from chimera.graphs.context import Context
from support.openai_server import OpenAICompatibleServer, RecordedRequest, Reply, error, tool_call

SPEC = "openai:test-model"
PLAN = {
    "tasks": [
        {"kind": "post", "topic": "thrifting", "brief": "A post on thrifting."},
        {"kind": "post", "topic": "clothing repair", "brief": "A post on mending."},
    ]
}


def answering(thread_id: str, rating: dict[str, Any] | str) -> Any:
    """Answers whichever structured output a request forces. Drafts name the thread, so
    no test's posts are near-duplicates of another's in the shared memory."""

    def reply(request: RecordedRequest) -> Reply:
        if request.forced_tool == "Plan":
            return tool_call(PLAN)
        if request.forced_tool == "Draft":
            user = request.body["messages"][-1]["content"]
            topic = "thrifting" if "<topic>thrifting</topic>" in user else "clothing repair"
            return tool_call({"text": f"Notes {thread_id} on {topic}, secondhand first. #AI"})
        return tool_call(rating)

    return reply


def failing_first(n: int, status: int, then: Any, tool: str) -> Any:
    """The first ``n`` requests for ``tool`` answer ``status``; everything else ``then``."""
    failures = {"left": n}

    def reply(request: RecordedRequest) -> Reply:
        if request.forced_tool == tool and failures["left"] > 0:
            failures["left"] -= 1
            return error(status, f"scripted {status}", retry_after_ms=1)
        answer: Reply = then(request)
        return answer

    return reply


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAICompatibleServer]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with OpenAICompatibleServer() as srv:
        monkeypatch.setenv("CHIMERA_OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("CHIMERA_OPENAI_API_KEY", "sk-retry-test-0123456789")
        load_chat_model.cache_clear()
        yield srv
    load_chat_model.cache_clear()


def runner(database: Database, store: BaseStore) -> Runner:
    ctx = Context(planner_model=SPEC, worker_model=SPEC, judge_model=SPEC, model_timeout_s=5)
    return Runner(database, postgres_services(database), store, ctx)


def calls(server: OpenAICompatibleServer, tool: str) -> int:
    return sum(r.forced_tool == tool for r in server.requests)


@pytest.mark.parametrize("tool", ["Plan", "Draft", "Rating"], ids=["planner", "worker", "judge"])
async def test_transient_503_is_retried_by_the_node(
    database: Database,
    memory_store: BaseStore,
    server: OpenAICompatibleServer,
    thread_id: str,
    tool: str,
) -> None:
    good = answering(thread_id, {"score": 5, "reasons": []})
    server.default = failing_first(2, 503, good, tool)

    view = await runner(database, memory_store).run("two posts", "ava", thread_id)

    # Where the gate sends the drafts is the judge's business (shared memory may hold
    # similar posts); what matters here is that the run went on past the failure.
    assert view["status"] in ("completed", "interrupted"), view
    assert sorted(r["task_id"] for r in view["results"]) == ["t1", "t2"]
    # Two tasks draft and rate once each, one plan; the failed node ran one more time
    # after the client's own retry (2 requests) gave up.
    expected = {"Plan": 1, "Draft": 2, "Rating": 2}
    expected[tool] += 2
    assert {t: calls(server, t) for t in expected} == expected
    events = [e["event"] for e in await runner(database, memory_store).audit(thread_id)]
    assert events.count("planned") == 1 and events.count("drafted") == 2


async def test_persistent_503_gives_up_after_three_attempts(
    database: Database, memory_store: BaseStore, server: OpenAICompatibleServer, thread_id: str
) -> None:
    server.default = failing_first(100, 503, answering(thread_id, {"score": 5}), "Plan")
    r = runner(database, memory_store)

    with pytest.raises(openai.InternalServerError, match="scripted 503"):
        await r.run("two posts", "ava", thread_id)

    assert calls(server, "Plan") == 3 * 2  # three attempts, each with the client's retry
    thread = await r.threads.get(thread_id)
    assert thread is not None and thread["status"] == "failed"
    assert await r.posts(thread_id) == []


async def test_400_is_not_retried(
    database: Database, memory_store: BaseStore, server: OpenAICompatibleServer, thread_id: str
) -> None:
    server.default = failing_first(100, 400, answering(thread_id, {"score": 5}), "Draft")
    r = runner(database, memory_store)

    with pytest.raises(openai.BadRequestError, match="scripted 400"):
        await r.run("two posts", "ava", thread_id)

    assert calls(server, "Plan") == 1
    assert calls(server, "Draft") == 2  # one per task, in parallel; neither retried
    assert calls(server, "Rating") == 0
    assert await r.posts(thread_id) == []


async def test_malformed_structured_reply_is_not_retried(
    database: Database, memory_store: BaseStore, server: OpenAICompatibleServer, thread_id: str
) -> None:
    server.default = answering(thread_id, '{"score": "excellent"')  # not JSON
    r = runner(database, memory_store)

    with pytest.raises(ModelOutputError, match=r"judge: .*Rating"):
        await r.run("two posts", "ava", thread_id)

    assert calls(server, "Rating") == 2  # one per task: a bad reply is no transient error
    assert await r.posts(thread_id) == []
