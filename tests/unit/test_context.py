"""Context: what a user tunes, with environment overrides as in LangChain's templates, and
a JSON schema that LangGraph's server can show (fields, defaults, descriptions)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from pydantic import TypeAdapter

from chimera.app.wiring import in_memory_services
from chimera.domain.errors import ConfigError
from chimera.graphs.context import Context
from chimera.graphs.swarm import graph


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for f in fields(Context):
        monkeypatch.delenv(f"CHIMERA_{f.name.upper()}", raising=False)
    monkeypatch.delenv("CHIMERA_MODEL", raising=False)


def test_defaults_without_environment() -> None:
    ctx = Context()
    assert ctx.models() == {"planner": "offline", "worker": "offline", "judge": "offline"}
    assert (ctx.review_threshold, ctx.publish_threshold, ctx.max_attempts) == (0.7, 0.9, 3)
    assert ctx.services is None


def test_environment_overrides_fields_left_at_their_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHIMERA_MODEL", "openai:gpt-4.1-mini")
    monkeypatch.setenv("CHIMERA_JUDGE_MODEL", "ollama:qwen3")
    monkeypatch.setenv("CHIMERA_REVIEW_THRESHOLD", "0.65")
    monkeypatch.setenv("CHIMERA_MAX_TASKS", "4")
    ctx = Context()
    assert ctx.models() == {
        "planner": "openai:gpt-4.1-mini",
        "worker": "openai:gpt-4.1-mini",
        "judge": "ollama:qwen3",  # the node's own variable wins over CHIMERA_MODEL
    }
    assert ctx.review_threshold == 0.65 and ctx.max_tasks == 4
    # A value passed explicitly is the caller's choice: the environment does not override it.
    assert Context(max_tasks=7, worker_model="offline").max_tasks == 7


def test_a_malformed_override_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIMERA_MAX_ATTEMPTS", "three")
    with pytest.raises(ConfigError, match=r"CHIMERA_MAX_ATTEMPTS='three'.*int"):
        Context()


def test_json_schema_shows_fields_defaults_and_descriptions() -> None:
    schema = graph.get_context_jsonschema()
    assert schema is not None
    props = schema["properties"]
    assert "services" not in props  # live collaborators never travel as JSON
    assert props["worker_model"]["default"] == "offline"
    assert props["worker_model"]["__template_metadata__"] == {"kind": "llm"}
    assert props["publish_threshold"]["default"] == 0.9
    for name, prop in props.items():
        assert prop.get("description"), f"Context.{name} has no description"
    # Built from JSON (as LangGraph's server does), services stay unset.
    built = TypeAdapter(Context).validate_python({"max_tasks": 3})
    assert built.max_tasks == 3 and built.services is None


def test_services_are_carried_but_never_compared() -> None:
    with_services = Context(services=in_memory_services())
    assert with_services == Context()
