"""Intake: the run's first step. Resolves the persona (an id or a path, as LangGraph's
server passes it, or already parsed, as the runner does), checks the goal, and seeds the
persona's facts into long-term memory before anything else runs."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from chimera.domain.errors import ConfigError, InputError
from chimera.domain.types import Persona
from chimera.graphs.context import Context
from chimera.graphs.memory.seed import seed_persona
from chimera.graphs.runtime import services_of
from chimera.graphs.state import InputState


async def resolve_persona(runtime: Runtime[Context], ref: Persona | str | None) -> Persona:
    if isinstance(ref, dict):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(
            f"name a persona: an id such as 'ava', or a path to a SOUL.md (got {ref!r})"
        )
    source = (await services_of(runtime)).personas
    if source is None:
        raise ConfigError("no persona source is wired: pass a parsed persona, not a name")
    return await source.load(ref.strip())


async def intake(state: InputState, runtime: Runtime[Context]) -> dict[str, Any]:
    goal = state.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        raise InputError("the goal is empty: say what the persona should do ('goal')")
    persona = await resolve_persona(runtime, state.get("persona"))
    if runtime.store is not None:
        # Keyed by content: seeding again (the runner seeds too, a replay re-runs this node)
        # writes nothing new.
        await seed_persona(runtime.store, persona)
    return {"persona": persona, "goal": goal.strip()}
