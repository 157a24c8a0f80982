"""Calibration of the judge on reviewers' decisions.

Every human decision is a label for the verdict it answered: approve and edit are
positive (the draft was fit to publish, or nearly), reject is negative; a retry says
nothing about the draft's fitness and is left out. A post published under asynchronous
review and confirmed in the studio is positive; one retracted is negative. A logistic
regression of the labels on the signal scores becomes the judge's combiner, so that its
confidence estimates the probability that a reviewer would let the draft through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import InputError
from chimera.domain.signals.combiner import DEFAULT_WEIGHTS, Combiner

SIGNALS = tuple(DEFAULT_WEIGHTS)
POSITIVE = {"approve", "edit"}
NEGATIVE = {"reject"}
MIN_LABELS = 20
ECE_BINS = 10

_LABELS_SQL = """
SELECT d.created_at AS at, d.id AS ord, d.thread_id, d.task_id,
       d.payload->>'decision' AS decision, j.payload->'verdict' AS verdict
FROM chimera_audit d
JOIN chimera_audit j
  ON j.thread_id = d.thread_id AND j.task_id = d.task_id AND j.event = 'judged'
 AND j.payload->>'attempt' = d.payload->>'attempt'
WHERE d.event = 'decided' AND d.payload->>'decision' IN ('approve', 'edit', 'reject')
UNION ALL
-- Async-reviewed posts (0.7-0.9) that a reviewer confirmed or retracted in the studio:
-- without them only interrupted drafts would be labelled, a selection bias.
SELECT l.created_at, 0, l.thread_id, l.task_id,
       CASE l.outcome WHEN 'confirm' THEN 'approve' ELSE 'reject' END AS decision,
       j.payload->'verdict' AS verdict
FROM chimera_review_labels l
JOIN chimera_audit j
  ON j.thread_id = l.thread_id AND j.task_id = l.task_id AND j.event = 'judged'
 AND (j.payload->>'attempt')::int = l.attempt
ORDER BY at, ord
"""


@dataclass(frozen=True)
class Label:
    scores: dict[str, float]
    confidence: float  # what the judge said at the time
    positive: bool


async def reviewer_labels(pool: Pool) -> list[Label]:
    """Reviewer decisions joined with the verdicts they answered, from the audit trail."""
    async with pool.connection() as conn:
        cur = await conn.execute(_LABELS_SQL)
        rows = await cur.fetchall()
    labels = []
    for row in rows:
        verdict = row["verdict"]
        scores = {s["name"]: float(s["score"]) for s in verdict["signals"]}
        labels.append(
            Label(
                scores={name: scores.get(name, 0.0) for name in SIGNALS},
                confidence=float(verdict["confidence"]),
                positive=row["decision"] in POSITIVE,
            )
        )
    return labels


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |observed frequency - predicted probability| over equal-width bins, by count."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def fit_combiner(labels: list[Label], *, seed: int = 0) -> tuple[Combiner, dict[str, Any]]:
    """A logistic combiner fitted on the labels, with calibration before and after.

    "After" is measured on cross-validated predictions (each label predicted by a model
    that did not see it), so the improvement is not the fit grading itself.
    """
    n_pos = sum(label.positive for label in labels)
    if len(labels) < MIN_LABELS or n_pos == 0 or n_pos == len(labels):
        raise InputError(
            f"calibration needs at least {MIN_LABELS} reviewer decisions with both approvals "
            f"and rejections; there are {len(labels)} ({n_pos} positive). Review more "
            "interrupted results (chimera resume ...) and try again"
        )
    x = np.array([[label.scores[name] for name in SIGNALS] for label in labels])
    y = np.array([label.positive for label in labels], dtype=int)
    before = np.array([label.confidence for label in labels])
    folds = min(5, n_pos, len(labels) - n_pos)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # Signal scores live in [0, 1]: the regularisation strength that suits them is chosen
    # by cross-validated log-loss rather than fixed.
    model = LogisticRegressionCV(
        Cs=[0.1, 1.0, 10.0, 100.0],
        cv=cv,
        scoring="neg_log_loss",
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )
    after = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
    model.fit(x, y)
    combiner = Combiner(
        weights={name: round(float(w), 6) for name, w in zip(SIGNALS, model.coef_[0], strict=True)},
        intercept=round(float(model.intercept_[0]), 6),
        fitted_on=len(labels),
        fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    report = {
        "labels": len(labels),
        "positive": n_pos,
        "folds": folds,
        "ece_before": expected_calibration_error(y, before),
        "ece_after": expected_calibration_error(y, after),
        "brier_before": float(brier_score_loss(y, before)),
        "brier_after": float(brier_score_loss(y, after)),
        "weights": combiner.weights,
        "intercept": combiner.intercept,
    }
    return combiner, report
