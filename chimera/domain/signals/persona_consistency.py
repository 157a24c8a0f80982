"""Persona consistency: is the draft on the persona's topics, close to its facts and past
posts, and free of contradictions with them?

Contradictions come from two detectors: the persona-consistency scorer (fitted on
Dialogue NLI) over each draft sentence against each recalled fact, and a lexical
check for things the persona's beliefs and directives explicitly reject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from chimera.domain.memory import Recollection
from chimera.domain.text import endorsed_terms, rejected_terms, topic_overlap
from chimera.domain.types import Persona, Signal


class PairScorer(Protocol):
    """Entailment / neutral / contradiction probabilities for (utterance, statement) pairs."""

    def predict_proba(self, pairs: list[tuple[str, str]]) -> Any: ...


@runtime_checkable
class WarmingPairScorer(PairScorer, Protocol):
    """A scorer that can embed one side of its pairs ahead of :meth:`predict_proba`:
    the sentences, and their words, each a job a thread can run."""

    def warm_sentences(self, utterances: Sequence[str]) -> None: ...

    def warm_words(self, utterances: Sequence[str]) -> None: ...


ON_TOPIC = 0.95
OFF_TOPIC = 0.6
LEXICAL_CONTRADICTION = 0.05
# Below this the scorer's contradiction probability is noise on social-media text (it was
# fitted on chit-chat utterances against first-person persona facts).
CONTRADICTION_FLOOR = 0.6
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_HASHTAGS = re.compile(r"(?:\s*#\w+)+\s*$")


def draft_sentences(draft: str) -> list[str]:
    """The draft's sentences, trailing hashtags dropped (they are not claims)."""
    body = _HASHTAGS.sub("", draft.strip())
    return [s.strip() for s in _SENTENCES.split(body) if len(s.strip()) > 3]


def persona_statements(persona: Persona, memory: Recollection) -> list[str]:
    """What the draft must not contradict: recalled facts, else the SOUL.md's beliefs.
    Directives are instructions, not facts about the persona: the scorer never saw such."""
    facts = [m.text for m in memory.facts if m.value.get("kind") != "directive"]
    return facts or list(persona["beliefs"])


def consistency_signal(
    persona: Persona,
    draft: str,
    memory: Recollection | None = None,
    scorer: PairScorer | None = None,
    weight: float = 0.3,
) -> Signal:
    memory = memory or Recollection()
    reasons: list[str] = []
    topics = topic_overlap(persona["topics"], draft)
    score = ON_TOPIC if topics else OFF_TOPIC
    if topics:
        reasons.append(f"on the persona's topics: {', '.join(topics)}")
    else:
        reasons.append("off the persona's usual topics: " + ", ".join(persona["topics"][:5]))
    if memory.facts:
        best = max(memory.facts, key=lambda m: m.score)
        reasons.append(f"closest fact ({best.score:.2f}): {best.text!r}")

    rejected = rejected_terms([*persona["beliefs"], *persona["directives"]])
    lexical = endorsed_terms(rejected, draft)
    if lexical:
        score = min(score, LEXICAL_CONTRADICTION)
        reasons.append(f"endorses what the persona rejects: {', '.join(lexical)}")

    sentences = draft_sentences(draft)
    statements = persona_statements(persona, memory)
    if scorer is not None and sentences and statements:
        pairs = [(s, f) for s in sentences for f in statements]
        probs = scorer.predict_proba(pairs)
        worst = int(np.argmax(probs[:, 2]))
        contradiction = float(probs[worst, 2])
        if contradiction > CONTRADICTION_FLOOR:
            # Scaled so that certainty (1.0) takes the score to 0 and the floor leaves it.
            penalty = (contradiction - CONTRADICTION_FLOOR) / (1 - CONTRADICTION_FLOOR)
            score = min(score, round(score * (1 - penalty), 4))
            sentence, fact = pairs[worst]
            reasons.append(f"contradiction {contradiction:.2f}: {sentence!r} against {fact!r}")
        else:
            reasons.append(f"no contradiction with {len(statements)} persona statements")
    return Signal(name="persona_consistency", score=score, weight=weight, reasons=reasons)
