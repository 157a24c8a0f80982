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


class Rating(BaseModel):
    """The judge model's rubric rating of a draft against the persona."""

    score: int = Field(ge=1, le=5, description="1 (out of character) to 5 (fully in character).")
    reasons: list[str] = Field(default_factory=list, description="Why, one short sentence each.")
