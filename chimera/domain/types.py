"""Chimera's domain records: personas, tasks, the judge's signals and verdicts, reviewers'
decisions and what became of each result.

Plain JSON (TypedDicts of str, float, list, dict), so graph state and checkpoints built
from them stay readable and portable. ``typing_extensions.TypedDict``: on Python 3.11
pydantic (and so LangGraph's server) cannot build schemas from ``typing.TypedDict``.
"""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

Route = Literal["publish", "async_review", "review"]
ReviewMode = Literal["none", "async", "human"]
DecisionKind = Literal["approve", "edit", "reject", "retry"]


class Thresholds(TypedDict, total=False):
    review: float
    publish: float


class Persona(TypedDict):
    id: str
    name: str
    handle: str
    platforms: list[str]
    topics: list[str]
    thresholds: Thresholds
    backstory: str
    voice: str
    beliefs: list[str]
    directives: list[str]
    examples: list[str]
    source: str


class Task(TypedDict):
    id: str
    kind: str
    topic: str
    brief: str


class Signal(TypedDict):
    name: str
    score: float
    weight: float
    reasons: list[str]


class Verdict(TypedDict):
    confidence: float
    signals: list[Signal]
    flags: list[str]
    route: Route
    reasons: list[str]


class Decision(TypedDict):
    decision: DecisionKind
    text: NotRequired[str]
    feedback: NotRequired[str]
    reviewer: NotRequired[str]


class TaskResult(TypedDict):
    task_id: str
    attempt: int
    text: str
    confidence: float
    route: Route
    flags: list[str]
    reasons: list[str]


class PublishedPost(TypedDict):
    task_id: str
    attempt: int
    post_id: str
    platform: str
    review: ReviewMode


class Discarded(TypedDict):
    task_id: str
    attempt: int
    reviewer: str
    reason: str
