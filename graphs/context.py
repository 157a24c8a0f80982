"""What a user tunes for a run: models, prompts, thresholds, attempts.

A ``Context`` is passed to every invocation (``graph.ainvoke(..., context=...)``)
and reaches each node as ``runtime.context``. It is never checkpointed, so
secrets and live collaborators may sit in ``services`` without reaching state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial

from chimera.prompts import load_prompt
from chimera.services import Services
from graphs.state import Thresholds


def _model_from_env(node: str) -> str:
    """Per-node override (CHIMERA_PLANNER_MODEL), then CHIMERA_MODEL, then the offline model."""
    return (
        os.environ.get(f"CHIMERA_{node.upper()}_MODEL")
        or os.environ.get("CHIMERA_MODEL")
        or "offline"
    )


@dataclass(kw_only=True)
class Context:
    """Run-scoped configuration of the Chimera graph."""

    planner_model: str = field(
        default_factory=partial(_model_from_env, "planner"),
        metadata={
            "description": "Planner chat model: 'offline', an init_chat_model string such as "
            "'openai:gpt-4.1-mini', or 'openai:MODEL' with CHIMERA_OPENAI_BASE_URL for any "
            "OpenAI-compatible endpoint."
        },
    )
    worker_model: str = field(
        default_factory=partial(_model_from_env, "worker"),
        metadata={"description": "Worker chat model; same forms as planner_model."},
    )
    judge_model: str = field(
        default_factory=partial(_model_from_env, "judge"),
        metadata={"description": "Judge chat model (rubric rating); same forms as planner_model."},
    )
    planner_prompt: str = field(
        default_factory=partial(load_prompt, "planner"),
        metadata={
            "description": "System prompt of the planner (prompts/planner/, latest version)."
        },
    )
    worker_prompt: str = field(
        default_factory=partial(load_prompt, "worker"),
        metadata={"description": "System prompt of the worker (prompts/worker/, latest version)."},
    )
    judge_prompt: str = field(
        default_factory=partial(load_prompt, "judge"),
        metadata={"description": "System prompt of the judge (prompts/judge/, latest version)."},
    )
    review_threshold: float = field(
        default=0.7,
        metadata={
            "description": "Below this confidence a result interrupts for human review. "
            "A persona's SOUL.md may override it."
        },
    )
    publish_threshold: float = field(
        default=0.9,
        metadata={
            "description": "Above this confidence a result publishes with no review; from "
            "review_threshold up to it, it publishes and is listed for asynchronous review."
        },
    )
    max_attempts: int = field(
        default=3,
        metadata={"description": "Attempts per task, counting retries a reviewer asks for."},
    )
    max_tasks: int = field(
        default=10,
        metadata={"description": "Upper bound on the tasks the planner may create for one goal."},
    )
    model_timeout_s: float = field(
        default=60.0,
        metadata={"description": "Seconds before a model call is abandoned with an error."},
    )
    disclosure_label: str = field(
        default="#AI",
        metadata={"description": "AI-disclosure label every published post must carry."},
    )
    services: Services = field(
        default_factory=Services.in_memory,
        compare=False,
        repr=False,
        metadata={
            "description": "Collaborators built by the runner (models, publisher, audit trail); "
            "in-memory ones by default. Not tunable."
        },
    )

    def thresholds_for(self, persona_thresholds: Thresholds) -> tuple[float, float]:
        """(review, publish) thresholds, with the persona's overrides applied."""
        review = float(persona_thresholds.get("review", self.review_threshold))
        publish = float(persona_thresholds.get("publish", self.publish_threshold))
        return review, publish
