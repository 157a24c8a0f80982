"""The process-wide persona-consistency scorer: the shipped network, or the
cross-encoder whose ``.onnx`` file ``CHIMERA_NLI_SCORER`` names. Apart from both
scorers' modules, which it chooses between (the cross-encoder builds on the network's)."""

from __future__ import annotations

import os
from functools import lru_cache

from chimera.adapters.nli.cross_encoder import CrossEncoderScorer
from chimera.adapters.nli.scorer import PersonaConsistencyScorer

SCORER_ENV = "CHIMERA_NLI_SCORER"


@lru_cache(maxsize=1)
def get_scorer() -> PersonaConsistencyScorer | CrossEncoderScorer:
    """The process-wide scorer (loads on first use)."""
    chosen = os.environ.get(SCORER_ENV, "").strip()
    if chosen:
        return CrossEncoderScorer(chosen)
    return PersonaConsistencyScorer()
