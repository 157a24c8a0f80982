"""The gate: the route a confidence and its flags take."""

from __future__ import annotations

from collections.abc import Sequence

from chimera.domain.types import Route


def route_for(
    confidence: float, flags: Sequence[str], review_threshold: float, publish_threshold: float
) -> Route:
    """> publish: publish; review..publish (both inclusive): publish and list for async
    review; < review, or any flag: interrupt for a human."""
    if flags or confidence < review_threshold:
        return "review"
    if confidence > publish_threshold:
        return "publish"
    return "async_review"
