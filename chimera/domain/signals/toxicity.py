"""Toxicity and insults, scored by ``alt-profanity-check`` (a linear model over character
n-grams trained on about 200k labelled comments, bundled in the wheel: no download).

Each sentence and each run of four words is scored on its own: a longer text dilutes
one insult among friendly words (the model reads "Anyone who buys fast fashion is a
brainless moron." at 0.65, its window "is a brainless moron." at 0.99). On the personas'
example posts no window scores above 0.63.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from chimera.domain.signals.detection import Detection, detection

TOXICITY_FLAG = "toxicity"
# Probability from which a sentence or window is an insult or profanity a human must see.
TOXIC = 0.75
WINDOW = 4
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_HASHTAGS = re.compile(r"#\w+")

ProbabilityModel = Callable[[Sequence[str]], Sequence[float]]
# The bundled model reads English only; for the Spanish persona, insults it misses.
_SPANISH_INSULTS = re.compile(
    r"\b(?:imb[eé]cil(?:es)?|idiotas?|in[uú]til(?:es)?|ladr[oó]n(?:es)?|escoria|par[aá]sitos?|"
    r"animales sin cerebro|vagos? egoístas?|pudrirse|subnormal(?:es)?|gentuza|cerdos?|"
    r"est[uú]pid[oa]s?|payas[oa]s?|basura humana)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def profanity_model() -> ProbabilityModel:
    """The bundled model, loaded once per process (its import takes about 2 s)."""
    from chimera.domain.signals.profanity import bundled_profanity

    model: ProbabilityModel = bundled_profanity()
    return model


def passages_of(draft: str) -> list[str]:
    """The draft's sentences, and every run of ``WINDOW`` words of a longer sentence."""
    text = _HASHTAGS.sub(" ", draft)
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCES.split(text)):
        if len(sentence) <= 2:
            continue
        out.append(sentence)
        words = sentence.split()
        out += [" ".join(words[i : i + WINDOW]) for i in range(len(words) - WINDOW + 1)][1:]
    return out


def toxicity_signal(draft: str, model: ProbabilityModel | None = None) -> Detection:
    """1 - the highest toxicity probability of any passage; flagged from ``TOXIC``."""
    parts = passages_of(draft)
    if not parts:
        return detection("toxicity", 1.0, ["nothing to score for toxicity"])
    probs = list((model or profanity_model())(parts))
    worst = max(range(len(parts)), key=lambda i: probs[i])
    p = probs[worst]
    spanish = _SPANISH_INSULTS.search(draft)
    if spanish and p < 1.0:
        p, parts[worst] = 1.0, spanish.group(0)
    if p >= TOXIC:
        return detection(
            "toxicity",
            1 - p,
            [f"insult or profanity ({p:.2f}): {parts[worst]!r}"],
            [TOXICITY_FLAG],
        )
    return detection("toxicity", 1 - p, [f"no insult or profanity (worst sentence {p:.2f})"])
