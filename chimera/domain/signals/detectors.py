"""The detectors the judge runs on a draft beside the policy signal (which covers
sensitive topics, injection phrases, secrets, the disclosure label and repeats)."""

from __future__ import annotations

from collections.abc import Iterable

from chimera.domain.signals.content import content_signal
from chimera.domain.signals.detection import Detection
from chimera.domain.signals.hidden_text import hidden_text_signal
from chimera.domain.signals.language import DEFAULT_LANGUAGE, language_signal
from chimera.domain.signals.links import TRUSTED_DOMAINS, links_signal
from chimera.domain.signals.personal_data import personal_data_signal
from chimera.domain.signals.spam import spam_signal
from chimera.domain.signals.toxicity import ProbabilityModel, toxicity_signal


def run_detectors(
    draft: str,
    *,
    language: str = DEFAULT_LANGUAGE,
    trusted_domains: Iterable[str] = TRUSTED_DOMAINS,
    toxicity_model: ProbabilityModel | None = None,
) -> list[Detection]:
    """One detection per detector, in a stable order."""
    return [
        content_signal(draft),
        hidden_text_signal(draft),
        toxicity_signal(draft, toxicity_model),
        personal_data_signal(draft),
        spam_signal(draft),
        links_signal(draft, trusted_domains),
        language_signal(draft, language),
    ]
