"""Keeps secrets out of the audit trail and logs: any value of a secret-looking
environment variable is replaced before it is written."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any, TypeVar

_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PRIVATE)", re.IGNORECASE)
_MIN_SECRET_LEN = 8  # shorter values are too likely to be ordinary words
T = TypeVar("T")


def secret_values() -> list[str]:
    values = {
        value
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LEN
    }
    return sorted(values, key=len, reverse=True)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[REDACTED]")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def redact_value(value: T) -> T:
    secrets = secret_values()
    return _scrub(value, secrets) if secrets else value


def redact(event: T) -> T:
    """A copy of an audit event (a dataclass) with secret values masked in its payload."""
    payload = getattr(event, "payload", None)
    if payload is None:
        return event
    return replace(event, payload=redact_value(payload))  # type: ignore[type-var]
