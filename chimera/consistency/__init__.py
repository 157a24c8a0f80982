"""Persona consistency: does an utterance entail, leave open, or contradict a persona
sentence? See :mod:`chimera.consistency.scorer`."""

from chimera.consistency.scorer import (
    LABELS,
    ConsistencyModelError,
    ConsistencyScore,
    PersonaConsistencyScorer,
    get_scorer,
)

__all__ = [
    "LABELS",
    "ConsistencyModelError",
    "ConsistencyScore",
    "PersonaConsistencyScorer",
    "get_scorer",
]
