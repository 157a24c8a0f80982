"""The combiner that turns the judge's signals into one confidence, and its calibration.

Until reviewer decisions have been fitted, confidence is a fixed weighted mean of the
signals. ``chimera eval calibration`` fits a logistic regression of reviewers' labels
(approve and edit positive, reject negative) on the signal scores and stores it in
long-term memory, so that 0.7 and 0.9 become probabilities of approval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chimera.domain.types import Signal

# The detectors' other signals act through their flags until a fitted combiner weighs them;
# content is the one quality signal among them, so it counts from the start.
DEFAULT_WEIGHTS: dict[str, float] = {
    "rubric": 0.5,
    "persona_consistency": 0.3,
    "policy": 0.2,
    "content": 0.2,
}


@dataclass(frozen=True)
class Combiner:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # None: a weighted mean (uncalibrated). A number: logistic, sigmoid(w.x + b).
    intercept: float | None = None
    fitted_on: int = 0  # how many reviewer labels
    fitted_at: str | None = None

    @property
    def calibrated(self) -> bool:
        return self.intercept is not None

    def weight(self, name: str) -> float:
        return self.weights.get(name, 0.0)

    def confidence(self, scores: Mapping[str, float]) -> float:
        if self.intercept is None:
            total = sum(self.weights.get(n, 0.0) for n in scores)
            if total <= 0:
                raise ValueError("no signal has a weight")
            mean = sum(self.weights.get(n, 0.0) * s for n, s in scores.items()) / total
            return round(mean, 4)
        z = self.intercept + sum(self.weights.get(n, 0.0) * s for n, s in scores.items())
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    def combine(self, signals: Sequence[Signal]) -> float:
        return self.confidence({s["name"]: s["score"] for s in signals})
