"""Where each kind of memory lives in the store."""

from __future__ import annotations

Namespace = tuple[str, ...]

POLICIES: Namespace = ("policies", "rules")
VIOLATIONS: Namespace = ("policies", "violations")


def facts(persona_id: str) -> Namespace:
    """What the persona is and believes: stays fixed as the persona evolves."""
    return ("personas", persona_id, "facts")


def posts(persona_id: str) -> Namespace:
    """What the persona published."""
    return ("personas", persona_id, "posts")


def interactions(persona_id: str) -> Namespace:
    """Reviewer decisions and other exchanges about the persona's work."""
    return ("personas", persona_id, "interactions")


def summaries(persona_id: str) -> Namespace:
    """Periodic summaries of how the persona's output is evolving."""
    return ("personas", persona_id, "summaries")
