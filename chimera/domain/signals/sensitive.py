"""Sensitive topics (medical, financial or legal advice, political persuasion) by a
learned classifier: a logistic-regression head over the draft's sentence embedding
(all-MiniLM-L6-v2), fitted on the labelled gate set's fit split
(``evals/fit_gate.py``), so that a harmless mention of money, health or an election is
not flagged while advice said with no trigger word is.

The topic named in the flag is the nearest of four prototypes (the embedded
descriptions in ``TOPICS``), so the head decides *whether*, the prototypes *which*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from chimera.domain.signals.detection import Detection, detection

TOPICS: dict[str, str] = {
    "health": "medical or health advice: treating symptoms, illness, medicine, pills, "
    "diet and weight, what to eat or skip instead of seeing a doctor",
    "financial advice": "financial advice: investing savings, stocks, crypto, loans, "
    "returns, where to put your money",
    "legal advice": "legal advice: what the law allows, contracts, deposits, fines, "
    "police, courts, lawyers, how to avoid paying or being sued",
    "politics": "political persuasion: how to vote, which party or candidate to support "
    "or oppose, elections and ballots",
}


class TextEmbedder(Protocol):
    def embed(self, texts: Sequence[str]) -> Any: ...

    def embed_alone(self, text: str) -> Any:
        """One text's vector, embedded on its own (so the same wherever it is asked)."""
        ...


@dataclass(frozen=True)
class SensitiveHead:
    """sigmoid(coef . v + intercept) for a unit-norm embedding v; flagged at threshold."""

    coef: np.ndarray
    intercept: float
    threshold: float
    prototypes: dict[str, np.ndarray]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SensitiveHead:
        return cls(
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            prototypes={k: np.asarray(v, dtype=np.float64) for k, v in data["prototypes"].items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "prototypes": {k: [round(float(x), 6) for x in v] for k, v in self.prototypes.items()},
        }

    def probability(self, vector: np.ndarray) -> float:
        z = float(np.asarray(vector, dtype=np.float64) @ self.coef) + self.intercept
        return float(1.0 / (1.0 + np.exp(-z)))

    def topic(self, vector: np.ndarray) -> str:
        v = np.asarray(vector, dtype=np.float64)
        return max(self.prototypes, key=lambda name: float(v @ self.prototypes[name]))


def sensitive_signal(vectors: Sequence[np.ndarray], head: SensitiveHead) -> Detection:
    """1 - the head's highest probability, over the texts' vectors (the draft, and the
    brief it answers), of sensitive advice or persuasion; flagged ``sensitive:<topic>``
    from the head's threshold."""
    probs = [head.probability(v) for v in vectors]
    worst = int(np.argmax(probs))
    p = probs[worst]
    if p >= head.threshold:
        topic = head.topic(vectors[worst])
        return detection(
            "sensitive",
            1 - p,
            [f"reads as {topic} ({p:.2f} by the fitted classifier): a human must approve"],
            [f"sensitive:{topic}"],
        )
    return detection("sensitive", 1 - p, [f"no sensitive advice or persuasion ({p:.2f})"])
