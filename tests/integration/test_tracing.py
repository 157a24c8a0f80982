"""Tracing of a goal run through the runner, on a real PostgreSQL, into receivers this
test starts: a LangSmith-compatible API and an OTLP/HTTP collector (both real HTTP on
127.0.0.1). A canary secret sits in the environment and in the goal; it must arrive
nowhere, while the goal's other words do (so the check can fail)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langgraph.store.base import BaseStore
from langsmith import utils as ls_utils

from chimera.adapters.postgres.database import Database
from chimera.app.runner import Runner
from chimera.app.wiring import postgres_services
from support.trace_receivers import LangSmithReceiver, OtlpReceiver

CANARY = "sk-canary-3f9a1c7e5b2d8046"
NODES = ("planner", "task", "worker", "judge", "summary")
TASK_NODES = ("worker", "judge")
TRACING_ENV = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_PROJECT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_SERVICE_NAME",
)


def goal(thread_id: str) -> str:
    # The key before the colon stays in the goal; the tasks come from the list after it.
    return f"Reference {thread_id} with key {CANARY} then posts on: thrifting and clothing repair"


def forget_langsmith_settings() -> None:
    """langsmith caches what it read from the environment; a process's environment does
    not change, but these tests' does."""
    ls_utils.get_env_var.cache_clear()
    ls_utils.get_tracer_project.cache_clear()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in TRACING_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHIMERA_OPENAI_API_KEY", CANARY)
    forget_langsmith_settings()
    yield monkeypatch
    monkeypatch.undo()
    forget_langsmith_settings()


@pytest.fixture
def langsmith(clean_env: pytest.MonkeyPatch) -> Iterator[LangSmithReceiver]:
    with LangSmithReceiver() as receiver:
        clean_env.setenv("LANGSMITH_TRACING", "true")
        clean_env.setenv("LANGSMITH_ENDPOINT", receiver.url)
        clean_env.setenv("LANGSMITH_API_KEY", "lsv2-test-receiver-key")
        clean_env.setenv("LANGSMITH_PROJECT", "chimera-tests")
        yield receiver


@pytest.fixture
def otlp(clean_env: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        yield receiver


async def eventually(check: Callable[[], bool], within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


def runner(database: Database, store: BaseStore) -> Runner:
    return Runner(database, postgres_services(database), store)


def task_of(run: dict[str, Any]) -> Any:
    return ((run.get("extra") or {}).get("metadata") or {}).get("task_id")


async def test_langsmith_and_otel_receive_the_run_named_tagged_and_redacted(
    database: Database,
    memory_store: BaseStore,
    langsmith: LangSmithReceiver,
    otlp: OtlpReceiver,
    thread_id: str,
) -> None:
    view = await runner(database, memory_store).run(goal(thread_id), "ava", thread_id)
    assert view["status"] in ("completed", "interrupted")

    # LangSmith: one root run, "chimera", with persona, thread and models.
    runs = list(langsmith.runs().values())
    ours = [r for r in runs if thread_id in str((r.get("extra") or {}).get("metadata"))]
    roots = [r for r in ours if not r.get("parent_run_id")]
    assert [r["name"] for r in roots] == ["chimera"], [r.get("name") for r in roots]
    root = roots[0]
    assert {"chimera", "persona:ava", f"thread:{thread_id}", "model:offline"} <= set(root["tags"])
    metadata = root["extra"]["metadata"]
    assert (metadata["persona"], metadata["thread_id"]) == ("ava", thread_id)
    assert {metadata[f"{n}_model"] for n in ("planner", "worker", "judge")} == {"offline"}
    assert "post" in root["_ops"] and "patch" in root["_ops"]  # started and ended

    names = Counter(r["name"] for r in ours)
    for node in NODES:
        assert names[node] >= 1, names
    # Every run under a task's subgraph carries its task id, the model's own runs too.
    for run in ours:
        if run["name"] in TASK_NODES:
            assert task_of(run) in ("t1", "t2"), run["name"]
            assert f"task:{task_of(run)}" in run["tags"]
    llm_tasks = sorted((task_of(r) for r in ours if r.get("run_type") == "llm"), key=str)
    assert llm_tasks == [None, "t1", "t1", "t2", "t2"]  # plan; draft and rating per task
    assert all(task_of(r) is None for r in ours if r["name"] in ("planner", "summary"))

    # OpenTelemetry: a span per node, with the same attributes.
    spans = [
        s for s in otlp.spans() if s.attributes.get("langsmith.metadata.thread_id") == thread_id
    ]
    by_name = Counter(s.name for s in spans)
    for node in (*NODES, "chimera"):
        assert by_name[node] >= 1, by_name
    [otel_root] = [s for s in spans if s.name == "chimera"]
    assert otel_root.parent_span_id == ""
    assert otel_root.resource["service.name"] == "chimera"
    assert otel_root.attributes["langsmith.metadata.persona"] == "ava"
    assert otel_root.attributes["langsmith.metadata.worker_model"] == "offline"
    assert "persona:ava" in otel_root.attributes["langsmith.span.tags"]
    assert len({s.trace_id for s in spans}) == 1
    for span in spans:
        if span.name in TASK_NODES:
            assert span.attributes["langsmith.metadata.task_id"] in ("t1", "t2")

    # Redaction: the canary never left the process; the goal's other words did.
    for blob in (langsmith.everything(), otlp.everything()):
        assert f"Reference {thread_id} with key".encode() in blob
        assert b"[REDACTED]" in blob
        assert CANARY.encode() not in blob
    # LangSmith's own key goes to LangSmith (its x-api-key header), never to the collector.
    assert b"lsv2-test-receiver-key" not in otlp.everything()


async def test_a_tracing_backend_that_is_down_never_fails_the_run(
    database: Database,
    memory_store: BaseStore,
    langsmith: LangSmithReceiver,
    otlp: OtlpReceiver,
    thread_id: str,
) -> None:
    langsmith.status = 503
    otlp.status = 500
    r = runner(database, memory_store)

    view = await r.run(goal(thread_id), "ava", thread_id)

    assert view["status"] in ("completed", "interrupted")
    assert sorted(x["task_id"] for x in view["results"]) == ["t1", "t2"]
    # It tried (the exports go on in the background after the run), and it did not matter.
    assert await eventually(lambda: bool(langsmith.requests() and otlp.requests()))
    events = [e["event"] for e in await r.audit(thread_id)]
    assert events.count("judged") == 2  # the audit trail is the record, traced or not


async def test_no_tracing_variables_send_nothing(
    database: Database, memory_store: BaseStore, clean_env: pytest.MonkeyPatch, thread_id: str
) -> None:
    with LangSmithReceiver() as receiver:
        # An endpoint alone does not turn tracing on.
        clean_env.setenv("LANGSMITH_ENDPOINT", receiver.url)
        view = await runner(database, memory_store).run(goal(thread_id), "ava", thread_id)
        assert view["status"] in ("completed", "interrupted")
        assert receiver.requests() == []


async def test_a_tracer_chimera_did_not_make_is_redacted_too(
    langsmith: LangSmithReceiver,
) -> None:
    """LangGraph's server makes its own LangChainTracer per run; once the server module
    has installed Chimera's client, those traces are redacted like the runner's."""
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tracers.langchain import LangChainTracer
    from langsmith.run_trees import configure

    from chimera.adapters.tracing import flush_traces, install_process_tracing

    assert install_process_tracing()
    try:
        echo = RunnableLambda(lambda text: f"{text} (echoed)").with_config(run_name="server-run")
        await echo.ainvoke(f"server says {CANARY} aloud", {"callbacks": [LangChainTracer()]})
        await flush_traces()
        assert await eventually(lambda: b"server-run" in langsmith.everything())
        blob = langsmith.everything()
        assert b"server says" in blob and b"(echoed)" in blob and b"[REDACTED]" in blob
        assert CANARY.encode() not in blob  # neither in the inputs nor in the outputs
    finally:
        configure(client=None)  # the next test's langsmith client is its own
