"""Persona consistency from the persona's own words: on its topics, and not endorsing
anything its beliefs or directives reject."""

from __future__ import annotations

from chimera.text import endorsed_terms, rejected_terms, topic_overlap
from graphs.state import Persona, Signal

ON_TOPIC = 0.95
OFF_TOPIC = 0.6
CONTRADICTION = 0.05


def consistency_signal(persona: Persona, draft: str) -> Signal:
    rejected = rejected_terms([*persona["beliefs"], *persona["directives"]])
    contradicted = endorsed_terms(rejected, draft)
    topics = topic_overlap(persona["topics"], draft)
    if contradicted:
        score = CONTRADICTION
        reasons = [f"endorses what the persona rejects: {', '.join(contradicted)}"]
    elif topics:
        score = ON_TOPIC
        reasons = [f"on the persona's topics: {', '.join(topics)}"]
    else:
        score = OFF_TOPIC
        reasons = ["off the persona's usual topics: " + ", ".join(persona["topics"][:5])]
    return Signal(name="persona_consistency", score=score, weight=0.3, reasons=reasons)
