"""Chimera's graph: intake -> planner -> one task subgraph per task (Send) -> summary.

Each task runs as its own subgraph (worker -> judge -> publish | review), so a
reviewer's decision on one task publishes it at once while the others keep
waiting. The module exports uncompiled builders; callers compile them with the
checkpointer they need (in-memory in tests, PostgreSQL in the CLI).
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from chimera.graphs.context import Context
from chimera.graphs.retry import MODEL_RETRY
from chimera.graphs.state import InputState, OutputState, State, TaskInput, TaskOutput, TaskState
from chimera.nodes.discard import discard
from chimera.nodes.intake import intake
from chimera.nodes.judge import judge
from chimera.nodes.planner import planner
from chimera.nodes.publish import publish
from chimera.nodes.review import review
from chimera.nodes.summary import summary
from chimera.nodes.worker import worker


def route_after_judge(state: TaskState) -> Literal["publish", "review"]:
    """The gate: publish (alone or for async review), or interrupt for a human."""
    return "review" if state["verdict"]["route"] == "review" else "publish"


def route_after_worker(state: TaskState) -> Literal["judge", "review"]:
    """A task the swarm could not draft (a critical failure) goes straight to a reviewer."""
    return "review" if state.get("failure") else "judge"


def fan_out(state: State) -> list[Send]:
    """One task subgraph per planned task, run in parallel."""
    return [
        Send("task", TaskInput(persona=state["persona"], goal=state["goal"], task=task))
        for task in state["tasks"]
    ]


task_builder = StateGraph(
    TaskState, context_schema=Context, input_schema=TaskInput, output_schema=TaskOutput
)
task_builder.add_node("worker", worker, retry_policy=MODEL_RETRY)
task_builder.add_node("judge", judge, retry_policy=MODEL_RETRY)
task_builder.add_node("review", review)
task_builder.add_node("publish", publish)
task_builder.add_node("discard", discard)
task_builder.add_edge(START, "worker")
task_builder.add_conditional_edges("worker", route_after_worker, ["judge", "review"])
task_builder.add_conditional_edges("judge", route_after_judge, ["publish", "review"])
task_builder.add_edge("publish", END)
task_builder.add_edge("discard", END)

builder = StateGraph(
    State, context_schema=Context, input_schema=InputState, output_schema=OutputState
)
builder.add_node("intake", intake)
# Model-using nodes run again on transient provider errors (chimera.graphs.retry).
builder.add_node("planner", planner, retry_policy=MODEL_RETRY)
# The task subgraph inherits the parent's checkpointer when the parent is compiled.
builder.add_node("task", task_builder.compile(name="task"))
builder.add_node("summary", summary)
builder.add_edge(START, "intake")
builder.add_edge("intake", "planner")
builder.add_conditional_edges("planner", fan_out, ["task"])
builder.add_edge("task", "summary")
builder.add_edge("summary", END)

graph = builder.compile(name="chimera")
"""Compiled without a checkpointer, for LangGraph's own tools (langgraph.json)."""
