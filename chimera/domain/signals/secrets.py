"""Secrets in a draft: a known secret value (a key or password Chimera was given) or
anything shaped like a credential. A draft that holds one is flagged, and the runner
refuses to approve it: it can only be edited (without the secret) or rejected."""

from __future__ import annotations

import re
from collections.abc import Iterable

from chimera.domain.redaction import secret_values

SECRET_FLAG = "secret"

# Shapes of credentials that have no business in a public post.
CREDENTIAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "api key": re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    "private key block": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "hex private key": re.compile(r"\b(?:0x)?[0-9a-fA-F]{64}\b"),
    "bearer token": re.compile(r"\bBearer\s+[A-Za-z0-9._\-]{20,}"),
    "URL with a password": re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:[^\s@/]+@"),
    "credential assignment": re.compile(
        r"\b(?:api[_-]?key|secret|password|passwd|token)\s*[:=]\s*\S{8,}", re.IGNORECASE
    ),
}


def secret_findings(text: str, known: Iterable[str] | None = None) -> list[str]:
    """What secret-like content ``text`` holds, by kind (never the value itself)."""
    known_values = secret_values() if known is None else list(known)
    found = ["a known secret value"] if any(v and v in text for v in known_values) else []
    found += [name for name, pattern in CREDENTIAL_PATTERNS.items() if pattern.search(text)]
    return found


def secret_flags(text: str, known: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
    """(flags, reasons): the ``secret`` flag when the text holds a secret."""
    findings = secret_findings(text, known)
    if not findings:
        return [], []
    return [SECRET_FLAG], [f"the draft contains {', '.join(findings)}: it is never published as is"]
