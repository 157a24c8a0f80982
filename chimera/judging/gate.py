"""The gate: one confidence from weighted signals, and the route it takes."""

from __future__ import annotations

from collections.abc import Sequence

from graphs.state import Route, Signal


def combine(signals: Sequence[Signal]) -> float:
    """Weighted mean of the signals' scores, rounded for stable display and comparison."""
    total = sum(s["weight"] for s in signals)
    if total <= 0:
        raise ValueError("signals have no weight")
    return round(sum(s["score"] * s["weight"] for s in signals) / total, 4)


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
