"""Graph state: the parent graph's state, each task subgraph's state, and their I/O schemas.

Everything in state is plain JSON (TypedDicts of str, float, list, dict) so that
checkpoints stay readable and portable across versions of Chimera.
"""

from __future__ import annotations

import operator
from typing import Annotated, Literal, NotRequired, TypedDict

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


class InputState(TypedDict):
    """What a run starts from: a persona and a goal."""

    persona: Persona
    goal: str


class OutputState(TypedDict):
    """What a finished run reports."""

    tasks: list[Task]
    results: list[TaskResult]
    published: list[PublishedPost]
    discarded: list[Discarded]
    summary: str


class State(InputState):
    """The parent graph's state. Lists written by parallel task subgraphs have reducers."""

    tasks: list[Task]
    results: Annotated[list[TaskResult], operator.add]
    published: Annotated[list[PublishedPost], operator.add]
    discarded: Annotated[list[Discarded], operator.add]
    summary: str


class TaskOutput(TypedDict):
    """What a task subgraph hands back to the parent: only reducer-backed lists."""

    results: Annotated[list[TaskResult], operator.add]
    published: Annotated[list[PublishedPost], operator.add]
    discarded: Annotated[list[Discarded], operator.add]


class TaskInput(TypedDict):
    persona: Persona
    goal: str
    task: Task


class TaskState(TaskInput, TaskOutput):
    """One task's subgraph state: worker -> judge -> review -> publish."""

    attempt: int
    feedback: str
    draft: str
    verdict: Verdict
    review: ReviewMode
    reviewer: str
