"""What the runner hands the graph for tracing: the root run's name, tags and metadata,
and a redacting tracer only when a tracing variable asks for one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langsmith import utils as ls_utils

from chimera.adapters import tracing
from chimera.adapters.tracing import ChimeraTracer, current_tracing, run_config

MODELS = {"planner": "offline", "worker": "openai:gpt-4.1-mini", "judge": "offline"}


@pytest.fixture(autouse=True)
def no_tracing_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in tracing._SETTINGS:
        monkeypatch.delenv(name, raising=False)
    ls_utils.get_env_var.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    ls_utils.get_env_var.cache_clear()


def test_root_run_is_named_and_tagged_without_tracing() -> None:
    config = run_config(
        {"configurable": {"thread_id": "th-1"}, "tags": ["caller"]},
        thread_id="th-1",
        persona_id="ava",
        models=MODELS,
    )
    assert config["run_name"] == "chimera"
    assert config["configurable"] == {"thread_id": "th-1"}
    assert config["tags"] == [
        "caller",
        "chimera",
        "thread:th-1",
        "persona:ava",
        "model:offline",
        "model:openai:gpt-4.1-mini",
    ]
    assert config["metadata"] == {
        "thread_id": "th-1",
        "persona": "ava",
        "planner_model": "offline",
        "worker_model": "openai:gpt-4.1-mini",
        "judge_model": "offline",
    }
    assert "callbacks" not in config
    assert current_tracing() is None


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "otel"),
        ({"LANGSMITH_TRACING": "true", "LANGSMITH_ENDPOINT": "http://127.0.0.1:9"}, "langsmith"),
        (
            {
                "LANGSMITH_TRACING": "true",
                "LANGSMITH_ENDPOINT": "http://127.0.0.1:9",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
            },
            "hybrid",
        ),
    ],
    ids=["otel", "langsmith", "both"],
)
def test_a_tracing_variable_adds_the_redacting_tracer(
    no_tracing_env: pytest.MonkeyPatch, env: dict[str, str], mode: str
) -> None:
    for name, value in env.items():
        no_tracing_env.setenv(name, value)

    config = run_config({}, thread_id="th-2", persona_id=None, models=MODELS)

    [tracer] = config["callbacks"]  # type: ignore[misc]
    assert isinstance(tracer, ChimeraTracer)
    assert tracer.client._tracing_mode == mode
    assert tracer.client._anonymizer is tracing._redact_payload
    assert "persona:None" not in config["tags"]
    # One client per distinct setting, reused across runs.
    assert current_tracing() is current_tracing()


def test_anonymizer_masks_secret_values(no_tracing_env: pytest.MonkeyPatch) -> None:
    no_tracing_env.setenv("CHIMERA_OPENAI_API_KEY", "sk-canary-0a1b2c3d4e")
    payload = {
        "goal": "use sk-canary-0a1b2c3d4e",
        "n": 3,
        "nested": [{"k": "sk-canary-0a1b2c3d4e"}],
    }
    assert tracing._redact_payload(payload) == {
        "goal": "use [REDACTED]",
        "n": 3,
        "nested": [{"k": "[REDACTED]"}],
    }


def test_task_id_is_read_from_a_task_subgraphs_input() -> None:
    assert tracing._task_id_in({"task": {"id": "t3", "topic": "x"}, "goal": "g"}) == "t3"
    assert tracing._task_id_in({"tasks": [{"id": "t1"}]}) is None
    assert tracing._task_id_in("text") is None
