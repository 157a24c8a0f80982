"""The combiner that turns the judge's signals into one confidence, and its calibration.

Three kinds, most trusted first: one fitted on reviewers' decisions (``chimera eval
calibration``, kept in long-term memory); the one fitted on the labelled gate set's fit
split, shipped with Chimera (``evals/fit_gate.py``); and a fixed weighted mean of the
signals. The fitted ones are a logistic regression of the labels on the signal scores,
optionally followed by an isotonic map fitted on cross-validated predictions, so that
0.7 and 0.9 read as probabilities that the draft is fit to publish.
"""

from __future__ import annotations

import itertools
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
# Every signal the judge emits, in the order a fitted combiner's features take.
SIGNAL_NAMES: tuple[str, ...] = (
    "rubric",
    "persona_consistency",
    "policy",
    "content",
    "hidden_text",
    "toxicity",
    "personal_data",
    "spam",
    "links",
    "language",
    "sensitive",
    "flags",
)


@dataclass(frozen=True)
class Combiner:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # None: a weighted mean (uncalibrated). A number: logistic, sigmoid(w.x + b).
    intercept: float | None = None
    fitted_on: int = 0  # how many labels
    fitted_at: str | None = None
    # Isotonic map applied after the sigmoid: increasing (x, y) points, linear between.
    calibration: list[tuple[float, float]] | None = None
    source: str = "reviewers"  # or "gate set": what the labels were

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
        p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        if self.calibration:
            p = _interpolate(self.calibration, p)
        return round(p, 4)

    def combine(self, signals: Sequence[Signal]) -> float:
        return self.confidence({s["name"]: s["score"] for s in signals})


def _interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    """Piecewise-linear through increasing points, flat beyond the ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]
