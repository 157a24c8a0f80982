"""alt-profanity-check's bundled model as one sparse product.

The package's model is scikit-learn's ``CalibratedClassifierCV`` over five linear SVMs,
each with a sigmoid calibrator; its ``predict_proba`` checks its input and runs each of
the five on its own: 8 ms a draft of the gate set, against 1.3 ms for this.
The same arithmetic, read once from the fitted model: the TF-IDF rows times the five
SVMs' weights side by side, the five sigmoids, their mean. The probabilities are the
package's own to floating-point rounding (``tests/unit/test_detectors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LinearProfanity:
    """mean over folds k of sigmoid(-(a_k * (x . w_k + c_k) + b_k)), x a text's TF-IDF row."""

    vectorizer: Any
    weights: np.ndarray  # features x folds
    intercepts: np.ndarray  # folds
    slopes: np.ndarray  # the calibrators' a, one per fold
    offsets: np.ndarray  # the calibrators' b, one per fold

    @classmethod
    def from_calibrated(cls, vectorizer: Any, model: Any) -> LinearProfanity:
        """Read a binary sigmoid-calibrated ensemble of linear models; ``ValueError`` if
        ``model`` is anything else (a later package version), whose own code then runs."""
        folds = list(getattr(model, "calibrated_classifiers_", []))
        if getattr(model, "method", None) != "sigmoid" or not folds:
            raise ValueError("not a sigmoid-calibrated ensemble")
        for fold in folds:
            coef = getattr(fold.estimator, "coef_", None)
            if coef is None or coef.shape[0] != 1 or len(fold.calibrators) != 1:
                raise ValueError("not a binary linear model")
            if list(fold.classes) != [0, 1] or not hasattr(fold.calibrators[0], "a_"):
                raise ValueError("not a 0/1 sigmoid calibration")
        return cls(
            vectorizer=vectorizer,
            weights=np.column_stack([np.asarray(f.estimator.coef_[0]) for f in folds]),
            intercepts=np.array([float(f.estimator.intercept_[0]) for f in folds]),
            slopes=np.array([float(f.calibrators[0].a_) for f in folds]),
            offsets=np.array([float(f.calibrators[0].b_) for f in folds]),
        )

    def __call__(self, texts: Sequence[str]) -> list[float]:
        decision = self.vectorizer.transform(list(texts)) @ self.weights + self.intercepts
        probs = 1.0 / (1.0 + np.exp(self.slopes * np.asarray(decision) + self.offsets))
        return [float(p) for p in probs.sum(axis=1) / len(self.intercepts)]


def bundled_profanity() -> Any:
    """The package's model as :class:`LinearProfanity`, else its own ``predict_prob``."""
    from profanity_check import profanity_check as package

    try:
        return LinearProfanity.from_calibrated(package.vectorizer, package.model)
    except ValueError:
        return lambda texts: [float(p) for p in package.predict_prob(list(texts))]
