"""A bare LangGraph graph of Chimera's shape: planner, Send, a task subgraph
worker -> judge -> publish, summary. The baseline of the overhead benchmarks.

With ``model`` (the instant model of :mod:`benchmarks.instant_model`), the planner, the
worker and the judge each make the structured call a plain LangGraph app would make
(``with_structured_output`` with Chimera's own schemas, bound once), so both graphs pay
LangChain's cost of a call; without it every node answers at once.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from chimera.graphs.schemas import Draft, Plan, Rating


class BareState(TypedDict, total=False):
    goal: str
    tasks: list[str]
    published: Annotated[list[str], operator.add]
    summary: str


class BareTask(TypedDict, total=False):
    task: str
    draft: str
    confidence: float
    published: Annotated[list[str], operator.add]


class BareTaskOutput(TypedDict):
    published: Annotated[list[str], operator.add]


def _planned(goal: str) -> list[str]:
    topics = goal.split(":", 1)[-1]
    return [t.strip() for t in topics.split(",") if t.strip()]


def _fan_out(state: BareState) -> list[Send]:
    return [Send("task", BareTask(task=t)) for t in state["tasks"]]


def _publish(state: BareTask) -> dict[str, Any]:
    return {"published": [state["draft"]]}


def _summary(state: BareState) -> dict[str, Any]:
    return {"summary": f"{len(state.get('published', []))} published"}


def bare_graph(
    checkpointer: BaseCheckpointSaver[Any], model: BaseChatModel | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The bare graph, compiled with ``checkpointer``; its nodes call ``model`` if given."""
    if model is None:

        async def planner(state: BareState) -> dict[str, Any]:
            return {"tasks": _planned(state["goal"])}

        async def worker(state: BareTask) -> dict[str, Any]:
            return {"draft": f"A post on {state['task']}. #AI"}

        async def judge(state: BareTask) -> dict[str, Any]:
            return {"confidence": 1.0}

    else:
        planning = model.with_structured_output(Plan)
        drafting = model.with_structured_output(Draft)
        rating = model.with_structured_output(Rating)

        async def planner(state: BareState) -> dict[str, Any]:
            plan = await planning.ainvoke([HumanMessage(f"<goal>{state['goal']}</goal>")])
            return {"tasks": [t.topic for t in plan.tasks]}  # type: ignore[union-attr]

        async def worker(state: BareTask) -> dict[str, Any]:
            draft = await drafting.ainvoke([HumanMessage(f"<topic>{state['task']}</topic>")])
            return {"draft": draft.text}  # type: ignore[union-attr]

        async def judge(state: BareTask) -> dict[str, Any]:
            rated = await rating.ainvoke([HumanMessage(f"<draft>{state['draft']}</draft>")])
            return {"confidence": (rated.score - 1) / 4}  # type: ignore[union-attr]

    task = StateGraph(BareTask, output_schema=BareTaskOutput)
    task.add_node("worker", worker)
    task.add_node("judge", judge)
    task.add_node("publish", _publish)
    task.add_edge(START, "worker")
    task.add_edge("worker", "judge")
    task.add_edge("judge", "publish")
    task.add_edge("publish", END)
    parent = StateGraph(BareState)
    parent.add_node("planner", planner)
    parent.add_node("task", task.compile(name="task"))
    parent.add_node("summary", _summary)
    parent.add_edge(START, "planner")
    parent.add_conditional_edges("planner", _fan_out, ["task"])
    parent.add_edge("task", "summary")
    parent.add_edge("summary", END)
    return parent.compile(checkpointer=checkpointer, name="bare")
