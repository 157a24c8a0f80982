"""Structured outputs the models return: the plan, a draft, the judge's rubric rating.

These are the contracts between Chimera and any chat model, the offline one
included: each is requested through ``with_structured_output``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TaskKind = Literal["post", "reply", "research"]


class PlannedTask(BaseModel):
    """One unit of work the planner hands to a worker."""

    kind: TaskKind = Field(
        description="What the worker produces: a post, a reply, or research notes."
    )
    topic: str = Field(description="The subject in a few words, e.g. 'capsule wardrobes'.")
    brief: str = Field(description="One or two sentences telling the worker what to write.")


class Plan(BaseModel):
    """The planner's breakdown of a goal into independent tasks."""

    tasks: list[PlannedTask] = Field(
        min_length=1, max_length=12, description="Independent tasks, one per post or reply."
    )
    left_out: list[str] = Field(
        default_factory=list,
        description="Topics of the goal left unplanned because there were more than allowed.",
    )


class Draft(BaseModel):
    """A worker's result in the persona's voice."""

    text: str = Field(
        min_length=1, description="The post text, ready to publish, hashtags included."
    )
    notes: str = Field(
        default="", description="Anything the reviewer should know (sources, doubts)."
    )


# Policy categories in the spirit of Llama Guard's hazard taxonomy, cut to what an
# influencer's post can do wrong.
PolicyCategory = Literal[
    "violence_or_hate",
    "harassment",
    "sexual_content",
    "self_harm",
    "medical_advice",
    "financial_advice",
    "legal_advice",
    "political_persuasion",
    "privacy",
    "intellectual_property",
    "defamation",
    "spam_or_deception",
    "prompt_injection",
]


class PolicyFinding(BaseModel):
    """One policy the draft breaks, and why."""

    category: PolicyCategory = Field(description="The policy category the draft falls in.")
    reason: str = Field(description="What in the draft falls in it, one short sentence.")


class Rating(BaseModel):
    """The judge model's rubric rating of a draft against the persona, and its policy
    classification: one structured call returns both."""

    score: int = Field(ge=1, le=5, description="1 (out of character) to 5 (fully in character).")
    reasons: list[str] = Field(default_factory=list, description="Why, one short sentence each.")
    policy: list[PolicyFinding] = Field(
        default_factory=list,
        description="Every policy category the draft falls in; empty when it is safe.",
    )
