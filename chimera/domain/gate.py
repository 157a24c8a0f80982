"""The gate: the route a confidence and its flags take."""

from __future__ import annotations

from collections.abc import Sequence

from chimera.domain.types import Route, Verdict


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


def with_flags(
    verdict: Verdict, flags: Sequence[str], review_threshold: float, publish_threshold: float
) -> Verdict:
    """``verdict`` with flags found before the judge (what the normaliser removed from
    the draft) added, and its route chosen again: a flag interrupts."""
    new = [f for f in flags if f not in verdict["flags"]]
    if not new:
        return verdict
    merged = [*verdict["flags"], *new]
    return Verdict(
        confidence=verdict["confidence"],
        signals=verdict["signals"],
        flags=merged,
        route=route_for(verdict["confidence"], merged, review_threshold, publish_threshold),
        reasons=[*verdict["reasons"], *(f"draft: {f} removed before judging" for f in new)],
    )
