"""Keeps secrets out of everything Chimera writes or prints: the values of secret-looking
environment variables, and the passwords of URLs (any scheme), are masked.

The masking functions are pure: they take the secret values to hide. ``secret_values``
gathers them from an environment mapping (the process's by default)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import unquote

_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL)", re.IGNORECASE)
_MIN_SECRET_LEN = 8  # shorter values are too likely to be ordinary words
# scheme://user:password@host, for any scheme (postgresql, mysql, redis, amqp, https...).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)@")
MASK = "[REDACTED]"
T = TypeVar("T")


def url_passwords(text: str) -> list[str]:
    """The passwords written in URLs inside ``text`` (raw and percent-decoded)."""
    found: set[str] = set()
    for match in _URL_PASSWORD.finditer(text):
        found.update({match.group("pw"), unquote(match.group("pw"))})
    return sorted(found)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every value to hide: secret-named variables and the passwords of URLs anywhere in
    the environment, longest first."""
    if environ is None:
        return list(_process_secrets(_environment_fingerprint()))
    return _secret_values(environ)


def _environment_fingerprint() -> tuple[tuple[Any, Any], ...]:
    # os.environ's raw (undecoded) mapping: a snapshot of it is a few microseconds where
    # decoding every variable is a millisecond, and every audit row asks.
    raw = getattr(os.environ, "_data", None)
    return tuple(raw.items()) if isinstance(raw, dict) else tuple(os.environ.items())


@lru_cache(maxsize=4)
def _process_secrets(fingerprint: tuple[tuple[Any, Any], ...]) -> tuple[str, ...]:
    return tuple(_secret_values(os.environ))


def _secret_values(env: Mapping[str, str]) -> list[str]:
    values = {v for name, v in env.items() if _SECRET_NAME.search(name)}
    for value in env.values():
        if "://" in value:
            values.update(url_passwords(value))
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret and each URL password masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, secrets) for v in value]
    return value


def redact_value(value: T, secrets: Iterable[str] | None = None) -> T:
    """A copy of ``value`` (strings in nested dicts and lists) with secrets masked; the
    secrets default to those of the process's environment."""
    known = list(secrets) if secrets is not None else secret_values()
    scrubbed: T = _scrub(value, known)
    return scrubbed


def redact(event: T) -> T:
    """A copy of an audit event (a dataclass) with secret values masked in its payload."""
    payload = getattr(event, "payload", None)
    if payload is None:
        return event
    return replace(event, payload=redact_value(payload))  # type: ignore[type-var]
