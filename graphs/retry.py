"""When a model-using node (planner, worker, judge) is run again: transient provider
failures only. Connection errors, timeouts, 408, 429 and 5xx pass with time; a reply
that is not the structured output asked for, a configuration error or a 400 would fail
the same way again, so they fail the run at once with their own message."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from langgraph.types import RetryPolicy

from chimera.domain.errors import ChimeraError

_RETRYABLE_STATUS = frozenset({408, 429})
# The transport errors of the Stainless-built SDKs (openai, anthropic, groq), which do not
# subclass the built-in ConnectionError; matched by name so no SDK need be imported here.
_SDK_TRANSPORT_ERRORS = frozenset({"APIConnectionError", "APITimeoutError"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it (SDKs wrap httpx's transport errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status_code(exc: BaseException) -> int | None:
    # openai, anthropic, groq, mistral and ollama errors carry ``status_code``; httpx's on
    # its response.
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for failures that another attempt may not meet."""
    if isinstance(exc, ChimeraError):  # bad input, bad config, a malformed model reply
        return False
    status = _status_code(exc)
    if status is not None:
        return status in _RETRYABLE_STATUS or status >= 500
    return any(
        isinstance(e, ConnectionError | TimeoutError | httpx.TransportError)
        or any(kind.__name__ in _SDK_TRANSPORT_ERRORS for kind in type(e).__mro__)
        for e in _chain(exc)
    )


MODEL_RETRY = RetryPolicy(
    initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, max_attempts=3,
    retry_on=is_transient,
)  # fmt: skip
"""Three attempts, 0.5 s then about 1 s apart (with jitter), on transient errors only.
The provider's own client retries once more inside each attempt."""
