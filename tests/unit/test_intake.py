"""The graph's first node takes the persona as an id, a path or parsed, in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime

from chimera.adapters.memory.postgres import in_memory_store
from chimera.adapters.persona_files import PERSONAS_DIR, PersonaFiles, load_persona
from chimera.app.wiring import in_memory_services
from chimera.domain.errors import ConfigError, InputError, PersonaError
from chimera.graphs.context import Context
from chimera.graphs.memory import namespaces as ns
from chimera.graphs.swarm import builder
from chimera.nodes.intake import intake


def runtime(**services: Any) -> Runtime[Context]:
    context = Context(services=replace(in_memory_services(), **services))
    return Runtime(context=context, store=in_memory_store())


async def facts(rt: Runtime[Context], persona: str) -> list[str]:
    assert rt.store is not None
    return [i.value["text"] for i in await rt.store.asearch(ns.facts(persona), limit=100)]


@pytest.mark.parametrize("ref", ["ava", " ava ", str(PERSONAS_DIR / "ava" / "SOUL.md")])
async def test_an_id_or_a_path_is_resolved_and_its_facts_seeded(ref: str) -> None:
    rt = runtime()
    out = await intake({"persona": ref, "goal": "  posts on thrifting "}, rt)
    assert out == {"persona": load_persona("ava"), "goal": "posts on thrifting"}
    assert any("mend" in text for text in await facts(rt, "ava"))


async def test_a_parsed_persona_is_taken_as_it_is() -> None:
    kai = load_persona("kai")
    kai["name"] = "Kai, edited in the studio"
    rt = runtime(personas=None)  # no lookup needed
    out = await intake({"persona": kai, "goal": "posts on meal prep"}, rt)
    assert out["persona"] == kai
    assert await facts(rt, "kai")


async def test_an_unknown_persona_is_a_clear_error_and_seeds_nothing() -> None:
    rt = runtime()
    known = r"unknown persona 'nobody'.*known personas: ava, kai, ren"
    with pytest.raises(PersonaError, match=known):
        await intake({"persona": "nobody", "goal": "posts"}, rt)
    assert rt.store is not None and await rt.store.alist_namespaces() == []


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"persona": "ava", "goal": "  "}, "the goal is empty"),
        ({"persona": "ava"}, "the goal is empty"),
        ({"persona": "", "goal": "posts"}, "name a persona"),
        ({"persona": 7, "goal": "posts"}, "name a persona"),
    ],
)
async def test_bad_input_is_refused(state: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        await intake(state, runtime())
    assert isinstance(caught.value, ValueError)  # so LangGraph's server shows the message


async def test_a_name_needs_a_persona_source() -> None:
    with pytest.raises(ConfigError, match="no persona source"):
        await intake({"persona": "ava", "goal": "posts"}, runtime(personas=None))


async def test_persona_files_search_the_dirs_given(tmp_path: Any) -> None:
    (tmp_path / "ava").mkdir()
    soul = (PERSONAS_DIR / "ava" / "SOUL.md").read_text(encoding="utf-8")
    (tmp_path / "ava" / "SOUL.md").write_text(soul.replace("Ava", "Ava Two"), encoding="utf-8")
    persona = await PersonaFiles([tmp_path]).load("ava")
    assert persona["name"].startswith("Ava Two")


async def test_the_graph_runs_from_a_persona_id() -> None:
    store = in_memory_store()
    graph = builder.compile(checkpointer=InMemorySaver(), store=store)
    config: Any = {"configurable": {"thread_id": "from-an-id"}}
    context = Context(services=in_memory_services())
    await graph.ainvoke({"persona": "ava", "goal": "posts on: thrifting"}, config, context=context)
    state = await graph.aget_state(config)
    assert state.values["persona"] == load_persona("ava")
    assert state.values["tasks"]  # the planner and the tasks ran on the parsed persona
