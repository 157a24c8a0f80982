"""The judge model's own policy classification (a provider model's, in the one
structured call that also rates the draft) as a signal and flags. Each category maps
to the flag the detectors raise for the same harm, so a reviewer sees one vocabulary
whichever found it."""

from __future__ import annotations

from collections.abc import Sequence

from chimera.domain.signals.detection import Detection, detection

FLAG_OF: dict[str, str] = {
    "violence_or_hate": "toxicity",
    "harassment": "toxicity",
    "medical_advice": "sensitive:health",
    "financial_advice": "sensitive:financial advice",
    "legal_advice": "sensitive:legal advice",
    "political_persuasion": "sensitive:politics",
    "privacy": "personal_data",
    "spam_or_deception": "spam",
    "prompt_injection": "injection",
}


def model_policy_signal(findings: Sequence[tuple[str, str]]) -> Detection:
    """``findings`` are (category, reason) pairs; every one raises its flag."""
    if not findings:
        return detection("model_policy", 1.0, ["the judge model found no policy breach"])
    return detection(
        "model_policy",
        0.0,
        [f"the judge model classed it {category}: {reason}" for category, reason in findings],
        [FLAG_OF.get(category, f"policy:{category}") for category, _ in findings],
    )
