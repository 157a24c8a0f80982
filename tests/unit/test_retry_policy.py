"""Which failures the model nodes' RetryPolicy runs again: transient ones only."""

from __future__ import annotations

import httpx
import openai
import pytest
from pydantic import BaseModel, ValidationError

from chimera.domain.errors import ConfigError, InputError, ModelOutputError
from chimera.graphs.retry import MODEL_RETRY, is_transient
from chimera.graphs.swarm import builder, task_builder

REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def status_error(status: int) -> openai.APIStatusError:
    response = httpx.Response(status, request=REQUEST, json={"error": {"message": "x"}})
    kind = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        404: openai.NotFoundError,
        429: openai.RateLimitError,
    }.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)
    return kind("scripted", response=response, body=None)


def wrapped(cause: BaseException, outer: Exception) -> Exception:
    """``outer`` raised from ``cause``, as SDKs wrap httpx's transport errors."""
    try:
        raise outer from cause
    except Exception as exc:
        return exc


def validation_error() -> ValidationError:
    class Score(BaseModel):
        score: int

    try:
        Score.model_validate({"score": "high"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "exc",
    [
        status_error(500),
        status_error(502),
        status_error(503),
        status_error(429),
        status_error(408),
        openai.APIConnectionError(request=REQUEST),  # even without its httpx cause
        wrapped(httpx.ConnectError("refused"), openai.APIConnectionError(request=REQUEST)),
        wrapped(httpx.ReadTimeout("slow"), openai.APITimeoutError(request=REQUEST)),
        httpx.ConnectError("refused"),
        httpx.HTTPStatusError(
            "bad gateway", request=REQUEST, response=httpx.Response(502, request=REQUEST)
        ),
        ConnectionResetError("peer reset"),
        TimeoutError("slow"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_failures_are_retried(exc: Exception) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        status_error(400),
        status_error(401),
        status_error(404),
        httpx.HTTPStatusError(
            "bad request", request=REQUEST, response=httpx.Response(400, request=REQUEST)
        ),
        ModelOutputError("judge: the model's reply is not a valid Rating"),
        ConfigError("model 'x' is not 'offline' or 'provider:model'"),
        InputError("the goal is empty"),
        wrapped(httpx.ConnectError("refused"), ConfigError("cannot reach the store")),
        validation_error(),
        ValueError("bad value"),
        KeyError("task"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_failures_are_not_retried(exc: Exception) -> None:
    assert not is_transient(exc)


def test_model_nodes_carry_the_policy_and_the_others_do_not() -> None:
    policies = {
        name: spec.retry_policy
        for graph in (builder, task_builder)
        for name, spec in graph.nodes.items()
    }
    for name in ("planner", "worker", "judge"):
        assert policies[name] == MODEL_RETRY, name
    # Side effects and interrupts are never re-run by a retry policy.
    for name in ("publish", "review", "discard", "summary"):
        assert policies[name] is None, name
    assert MODEL_RETRY.retry_on is is_transient
    assert MODEL_RETRY.max_attempts == 3
