"""The judge with a provider model: one structured call over real HTTP (the scripted
OpenAI-compatible server on 127.0.0.1) returns the rubric rating and a policy
classification, and every category the model names becomes a flag that interrupts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chimera.adapters.inmemory import InMemoryAuditLog, InMemoryPublisher
from chimera.adapters.memory.postgres import in_memory_store
from chimera.adapters.models.factory import load_chat_model
from chimera.adapters.persona_files import load_persona
from chimera.domain.types import Task
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona, seed_policies
from chimera.graphs.services import Services
from chimera.nodes.judge import judge_draft
from support.openai_server import OpenAICompatibleServer, tool_call

DRAFT = (
    "Thrifted this wool blazer for $9. Worn 45 times so far: 20 cents a wear. "
    "Put the rest of your savings in vintage denim, it only goes up. ♻️ #thrifting #AI"
)
TASK = Task(id="t1", kind="post", topic="thrifting", brief="A thrifting tip for followers.")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAICompatibleServer]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    load_chat_model.cache_clear()
    with OpenAICompatibleServer() as srv:
        monkeypatch.setenv("CHIMERA_OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("CHIMERA_OPENAI_API_KEY", "sk-chimera-judge-test-1b2c3d")
        yield srv
    load_chat_model.cache_clear()


async def _judge(rating: dict[str, Any], server: OpenAICompatibleServer) -> Any:
    server.script(tool_call(rating))
    services = Services(
        publisher=InMemoryPublisher(), audit=InMemoryAuditLog(), chat_model=load_chat_model
    )
    context = replace(Context(services=services), judge_model="openai:test-model")
    store = in_memory_store()
    ava = load_persona("ava")
    await seed_persona(store, ava)
    await seed_policies(store)
    return (await judge_draft(context, services, store, ava, TASK, DRAFT)).verdict


async def test_the_models_policy_classification_flags_the_draft(
    server: OpenAICompatibleServer,
) -> None:
    verdict = await _judge(
        {
            "score": 5,
            "reasons": ["in voice"],
            "policy": [{"category": "financial_advice", "reason": "tells followers to invest"}],
        },
        server,
    )
    assert "sensitive:financial advice" in verdict["flags"]
    assert verdict["route"] == "review"
    assert any("financial_advice: tells followers to invest" in r for r in verdict["reasons"])
    [request] = server.requests
    assert request.forced_tool == "Rating"
    schema = request.tools[0]["function"]["parameters"]
    assert "policy" in schema["properties"]  # the classification rides in the same call
    prompt = request.body["messages"][0]["content"]
    assert "political_persuasion" in prompt and "prompt_injection" in prompt


async def test_a_clean_classification_adds_no_flag(server: OpenAICompatibleServer) -> None:
    verdict = await _judge({"score": 5, "reasons": ["in voice"], "policy": []}, server)
    assert not any(f.startswith("sensitive:") for f in verdict["flags"])
    assert "model_policy" not in [s["name"] for s in verdict["signals"]]
    assert [s["score"] for s in verdict["signals"] if s["name"] == "rubric"] == [1.0]


async def test_an_unknown_category_is_a_model_output_error(
    server: OpenAICompatibleServer,
) -> None:
    from chimera.domain.errors import ModelOutputError

    with pytest.raises(ModelOutputError):
        await _judge({"score": 5, "policy": [{"category": "vibes", "reason": "bad vibes"}]}, server)
