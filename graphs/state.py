"""Graph state: the parent graph's state, each task subgraph's state, and their I/O schemas.

Everything in state is plain JSON built from the domain records, so checkpoints stay
readable and portable across versions of Chimera.
"""

from __future__ import annotations

import operator
from typing import Annotated

from typing_extensions import TypedDict

from chimera.domain.types import (
    Discarded,
    Persona,
    PublishedPost,
    ReviewMode,
    Task,
    TaskResult,
    Verdict,
)


class InputState(TypedDict):
    """What a run starts from: a persona and a goal. The persona is an id (``"ava"``), a
    path to a SOUL.md, or a parsed persona; the graph's first node resolves it."""

    persona: Persona | str
    goal: str


class OutputState(TypedDict):
    """What a finished run reports."""

    tasks: list[Task]
    results: list[TaskResult]
    published: list[PublishedPost]
    discarded: list[Discarded]
    # Topics of the goal beyond max_tasks, which no task covers.
    left_out: list[str]
    summary: str


class State(TypedDict):
    """The parent graph's state. Lists written by parallel task subgraphs have reducers.
    Once the run has started, ``persona`` is always the parsed persona."""

    persona: Persona
    goal: str
    tasks: list[Task]
    results: Annotated[list[TaskResult], operator.add]
    published: Annotated[list[PublishedPost], operator.add]
    discarded: Annotated[list[Discarded], operator.add]
    left_out: list[str]
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
    # Why the task could not be drafted (the swarm gave up on it); empty when it was.
    failure: str
    # What the normaliser removed from the worker's reply (hidden_characters): flags the
    # judge adds to its own.
    draft_flags: list[str]
    verdict: Verdict
    review: ReviewMode
    reviewer: str
