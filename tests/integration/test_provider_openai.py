"""The ``openai:MODEL`` provider path against a real OpenAI-compatible HTTP server.

Everything below the test goes over a socket to a scripted chat-completions
server on 127.0.0.1 (see ``tests/support/openai_server.py``): load_chat_model ->
ChatOpenAI -> openai -> httpx -> HTTP, and back through with_structured_output
and structured_call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from chimera.adapters.models.factory import load_chat_model
from chimera.domain.errors import ConfigError, ModelOutputError
from chimera.graphs.schemas import Draft, Plan, Rating
from chimera.graphs.structured import structured_call
from support.openai_server import OpenAICompatibleServer, error, text, tool_call

API_KEY = "sk-chimera-test-5f2c9a1e7b"
MODEL_SPEC = "openai:test-model"
# Variables that would send the client anywhere but the local test server.
FOREIGN_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

PLAN_ARGS = {
    "tasks": [
        {"kind": "post", "topic": "capsule wardrobes", "brief": "Ten pieces, thirty outfits."},
        {"kind": "reply", "topic": "linen care", "brief": "Answer the ironing question kindly."},
    ]
}
DRAFT_ARGS = {"text": "Ten pieces, thirty outfits. #capsulewardrobe", "notes": "count checked"}
RATING_ARGS = {"score": 4, "reasons": ["warm voice", "one hashtag too many"]}


def messages() -> list[SystemMessage | HumanMessage]:
    return [SystemMessage("You are Mira, a slow-fashion stylist."), HumanMessage("Plan today.")]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No ambient OpenAI or proxy settings, and no model cached from another test
    (load_chat_model is lru-cached and reads the environment)."""
    for name in (*FOREIGN_ENV, "CHIMERA_OPENAI_API_KEY", "CHIMERA_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    load_chat_model.cache_clear()
    yield monkeypatch
    load_chat_model.cache_clear()


@pytest.fixture
def server(clean_env: pytest.MonkeyPatch) -> Iterator[OpenAICompatibleServer]:
    """A running server the ``openai:`` provider is configured to use, with a key."""
    with OpenAICompatibleServer() as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
        clean_env.setenv("CHIMERA_OPENAI_BASE_URL", srv.base_url)
        clean_env.setenv("CHIMERA_OPENAI_API_KEY", API_KEY)
        yield srv


# --- structured output over the wire -------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "node", "args"),
    [(Plan, "planner", PLAN_ARGS), (Draft, "worker", DRAFT_ARGS), (Rating, "judge", RATING_ARGS)],
    ids=["Plan", "Draft", "Rating"],
)
async def test_structured_call_round_trip(
    server: OpenAICompatibleServer, schema: type[BaseModel], node: str, args: dict[str, Any]
) -> None:
    server.script(tool_call(args))
    model = load_chat_model(MODEL_SPEC, 5.0)

    result = await structured_call(model, schema, messages(), node=node)

    assert type(result) is schema
    assert result == schema.model_validate(args)
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.bearer_token == API_KEY
    assert request.model == "test-model"
    assert not request.body.get("stream")
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    assert request.body["messages"][1]["content"] == "Plan today."
    # The schema went out as the one tool, and tool_choice forces it.
    assert request.tool_names == [schema.__name__]
    assert request.forced_tool == schema.__name__
    assert request.body["tool_choice"] == {
        "type": "function",
        "function": {"name": schema.__name__},
    }
    parameters = request.tools[0]["function"]["parameters"]
    assert set(parameters["properties"]) == set(schema.model_fields)
    required = {name for name, f in schema.model_fields.items() if f.is_required()}
    assert set(parameters.get("required", [])) == required
    assert "response_format" not in request.body
    assert server.pending == 0


async def test_plan_tool_schema_carries_the_nested_task_contract(
    server: OpenAICompatibleServer,
) -> None:
    server.script(tool_call(PLAN_ARGS))
    await structured_call(load_chat_model(MODEL_SPEC, 5.0), Plan, messages(), node="planner")

    tasks = server.requests[0].tools[0]["function"]["parameters"]["properties"]["tasks"]
    assert tasks["type"] == "array"
    assert (tasks["minItems"], tasks["maxItems"]) == (1, 12)
    item = tasks["items"]
    assert item["properties"]["kind"]["enum"] == ["post", "reply", "research"]
    assert set(item["required"]) == {"kind", "topic", "brief"}


async def test_unversioned_base_url_uses_chat_completions_at_the_root(
    server: OpenAICompatibleServer, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("CHIMERA_OPENAI_BASE_URL", server.root_url)
    server.script(tool_call(RATING_ARGS))

    result = await structured_call(
        load_chat_model(MODEL_SPEC, 5.0), Rating, messages(), node="judge"
    )

    assert result == Rating.model_validate(RATING_ARGS)
    assert server.requests[0].path == "/chat/completions"


async def test_base_url_without_a_key_sends_a_placeholder_bearer(
    server: OpenAICompatibleServer, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.delenv("CHIMERA_OPENAI_API_KEY")
    server.script(tool_call(DRAFT_ARGS))

    result = await structured_call(load_chat_model(MODEL_SPEC, 5.0), Draft, messages(), node="w")

    assert result == Draft.model_validate(DRAFT_ARGS)
    assert server.requests[0].bearer_token == "not-needed"


async def test_chimera_key_takes_precedence_over_openai_key(
    server: OpenAICompatibleServer, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-ambient-should-not-be-used")
    server.script(tool_call(DRAFT_ARGS))

    await structured_call(load_chat_model(MODEL_SPEC, 5.0), Draft, messages(), node="worker")

    assert server.requests[0].bearer_token == API_KEY


# --- replies that are not the structured output asked for ---------------------------


async def test_invalid_json_arguments_raise_model_output_error(
    server: OpenAICompatibleServer,
) -> None:
    server.script(tool_call('{"tasks": [{"kind": "post", '))

    with pytest.raises(ModelOutputError) as caught:
        await structured_call(load_chat_model(MODEL_SPEC, 5.0), Plan, messages(), node="planner")

    message = str(caught.value)
    assert message.startswith("planner:")
    assert "Plan" in message
    assert "not valid JSON" in message
    assert server.request_count == 1  # a bad reply is not retried at the HTTP level


@pytest.mark.parametrize(
    ("schema", "node", "args", "field"),
    [
        (Rating, "judge", {"score": 9, "reasons": ["too good"]}, "score"),
        (Rating, "judge", {"score": "high"}, "score"),
        (Plan, "planner", {"tasks": []}, "tasks"),
        (Plan, "planner", {"tasks": [{"kind": "video", "topic": "t", "brief": "b"}]}, "kind"),
        (Draft, "worker", {"notes": "forgot the text"}, "text"),
        (Draft, "worker", {"text": ""}, "text"),
    ],
    ids=["score-9", "score-str", "no-tasks", "bad-kind", "no-text", "empty-text"],
)
async def test_schema_violation_raises_model_output_error_naming_the_field(
    server: OpenAICompatibleServer,
    schema: type[BaseModel],
    node: str,
    args: dict[str, Any],
    field: str,
) -> None:
    server.script(tool_call(args))

    with pytest.raises(ModelOutputError) as caught:
        await structured_call(load_chat_model(MODEL_SPEC, 5.0), schema, messages(), node=node)

    message = str(caught.value)
    assert message.startswith(f"{node}:")
    assert f"not a valid {schema.__name__}" in message
    assert field in message


async def test_plain_text_reply_raises_model_output_error(server: OpenAICompatibleServer) -> None:
    server.script(text('{"score": 5, "reasons": []}'))  # JSON-looking, but not a tool call

    with pytest.raises(ModelOutputError) as caught:
        await structured_call(load_chat_model(MODEL_SPEC, 5.0), Rating, messages(), node="judge")

    message = str(caught.value)
    assert message.startswith("judge:")
    assert "Rating" in message
    assert "no tool call" in message


async def test_call_to_a_tool_that_was_not_offered_raises_model_output_error(
    server: OpenAICompatibleServer,
) -> None:
    server.script(tool_call(DRAFT_ARGS, name="Publish"))

    with pytest.raises(ModelOutputError, match=r"^worker: .*Draft.*Publish"):
        await structured_call(load_chat_model(MODEL_SPEC, 5.0), Draft, messages(), node="worker")


# --- transport failures propagate; nothing falls back to offline -------------------


@pytest.mark.parametrize(
    ("status", "exc_type", "expected_requests"),
    [
        (500, openai.InternalServerError, 2),  # retried once (max_retries=1), then raised
        (429, openai.RateLimitError, 2),
        (401, openai.AuthenticationError, 1),  # not retryable
    ],
    ids=["500", "429", "401"],
)
async def test_http_errors_propagate_with_bounded_retries(
    server: OpenAICompatibleServer,
    status: int,
    exc_type: type[openai.APIStatusError],
    expected_requests: int,
) -> None:
    reply = error(status, f"scripted {status}", retry_after_ms=1)
    server.default = reply  # every attempt fails the same way
    model = load_chat_model(MODEL_SPEC, 5.0)
    assert type(model).__name__ == "ChatOpenAI"

    with pytest.raises(openai.APIStatusError) as caught:
        await structured_call(model, Draft, messages(), node="worker")

    assert isinstance(caught.value, exc_type)
    assert caught.value.status_code == status
    assert f"scripted {status}" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert server.request_count == expected_requests
    assert server.request_count <= 2
    assert all(r.bearer_token == API_KEY for r in server.requests)


async def test_error_then_success_is_retried_once(server: OpenAICompatibleServer) -> None:
    server.script(error(503, "warming up", retry_after_ms=1), tool_call(RATING_ARGS))

    result = await structured_call(
        load_chat_model(MODEL_SPEC, 5.0), Rating, messages(), node="judge"
    )

    assert result == Rating.model_validate(RATING_ARGS)
    assert server.request_count == 2


async def test_slow_server_raises_timeout_well_before_it_answers(
    server: OpenAICompatibleServer,
) -> None:
    server.default = tool_call(RATING_ARGS, delay=3.0)
    model = load_chat_model(MODEL_SPEC, 0.5)

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await structured_call(model, Rating, messages(), node="judge")
    elapsed = time.monotonic() - started

    # 0.5 s, one retry after ~0.5 s backoff, 0.5 s: about 1.5 s, never the server's 3 s.
    assert elapsed < 2.5
    assert 1 <= server.request_count <= 2


# --- configuration -------------------------------------------------------------------


def test_openai_without_key_or_base_url_is_a_config_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        load_chat_model("openai:x")


@pytest.mark.parametrize("spec", ["gpt4", "openai:", ":gpt-4", "  "])
def test_malformed_spec_is_a_config_error(clean_env: pytest.MonkeyPatch, spec: str) -> None:
    clean_env.setenv("CHIMERA_OPENAI_API_KEY", API_KEY)
    with pytest.raises(ConfigError, match="provider:model"):
        load_chat_model(spec)


def test_api_key_never_shows_in_the_models_repr(server: OpenAICompatibleServer) -> None:
    model = load_chat_model(MODEL_SPEC, 5.0)

    assert API_KEY not in repr(model)
    assert API_KEY not in str(model)
    assert model.openai_api_key is not None  # type: ignore[attr-defined]
    assert model.openai_api_key.get_secret_value() == API_KEY  # type: ignore[attr-defined]
