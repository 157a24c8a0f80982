"""What a detector returns: its signal (score and reasons) and the flags it raises.

A flag interrupts for a human whatever the confidence (``chimera.domain.gate``); the
score is one feature of the combiner, so a detector can lower confidence without
stopping a draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chimera.domain.types import Signal


@dataclass(frozen=True)
class Detection:
    signal: Signal
    flags: list[str] = field(default_factory=list)


def detection(
    name: str, score: float, reasons: list[str], flags: list[str] | None = None, weight: float = 0.0
) -> Detection:
    """A detection with its score clipped to [0, 1] and rounded like every signal's."""
    # float(): a numpy score would reach the checkpoint, which cannot serialise it.
    clipped = round(min(1.0, max(0.0, float(score))), 4)
    return Detection(
        signal=Signal(name=name, score=clipped, weight=weight, reasons=reasons),
        flags=list(dict.fromkeys(flags or [])),
    )
