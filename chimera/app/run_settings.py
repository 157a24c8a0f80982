"""The settings a run starts with (prompt versions, models, thresholds), chosen and recorded
in one place for every face, and read back when its thread is continued or resumed.

A new run takes each node's default prompt version (the one promoted in the studio, else
the newest seed file), unless ``CHIMERA_<NODE>_PROMPT`` sets a text of its own (recorded
as version 0). The choice goes to the audit trail as the thread's ``run_started`` event,
so a resumed task, a retry above all, drafts as its first attempt did, whichever face
(CLI, studio) started or resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from chimera.adapters.postgres.prompts import NODES, PromptStore
from chimera.app.runner import Runner
from chimera.app.wiring import App
from chimera.graphs.context import Context

RUN_STARTED = "run_started"
CUSTOM_PROMPT = 0  # the version recorded for a prompt text set by CHIMERA_<NODE>_PROMPT


def _prompt_field(node: str) -> str:
    return f"{node}_prompt"


def _custom_prompts(ctx: Context) -> set[str]:
    """The nodes whose prompt text was set by the environment, not taken from a version."""
    return {n for n in NODES if _prompt_field(n) in _explicit_fields(ctx)}


async def context_with(prompts: PromptStore, base: Context, chosen: dict[str, int]) -> Context:
    """``base`` with the chosen prompt versions' texts (every version checked to exist);
    version 0 keeps ``base``'s own text."""
    texts = await prompts.texts({n: v for n, v in chosen.items() if v != CUSTOM_PROMPT})
    updates: dict[str, Any] = {_prompt_field(node): text for node, text in texts.items()}
    return replace(base, **updates)


async def new_run_context(
    app: App, base: Context | None = None, overrides: dict[str, int] | None = None
) -> tuple[Context, dict[str, int]]:
    """The context a new run starts with, and the prompt version of each node it used."""
    base = base or Context()
    prompts = PromptStore(app.db.pool)
    await prompts.seed()
    chosen = await prompts.defaults()
    chosen |= {n: CUSTOM_PROMPT for n in _custom_prompts(base)}
    chosen |= overrides or {}
    return await context_with(prompts, base, chosen), chosen


def started_payload(ctx: Context, chosen: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_versions": chosen,
        "models": ctx.models(),
        "thresholds": [ctx.review_threshold, ctx.publish_threshold],
    }


async def run_recorded(
    runner: Runner,
    chosen: dict[str, int],
    actor: str,
    goal: str | None,
    persona: str | None,
    *,
    thread_id: str,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    via: str,
) -> dict[str, Any]:
    """Runs a new goal; its thread records the settings it started with as it is made."""
    payload = {"via": via, **started_payload(runner.context, chosen)}
    return await runner.run(
        goal, persona, thread_id, on_progress=on_progress, started=(actor, payload)
    )


async def thread_context(app: App, thread_id: str, base: Context | None = None) -> Context:
    """The context the thread's run started with (its ``run_started`` record): prompt
    versions, models and thresholds. What ``base`` sets itself (from the environment:
    ``CHIMERA_MODEL`` after a provider outage, say) wins over the record; a thread with no
    record gets ``base`` as it is."""
    base = base or Context()
    async with app.db.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT payload FROM chimera_audit WHERE thread_id = %s AND event = %s"
            " ORDER BY id DESC LIMIT 1",
            (thread_id, RUN_STARTED),
        )
        row = await cur.fetchone()
    if row is None:
        return base
    started = row["payload"]
    explicit = _explicit_fields(base)
    versions = {
        n: v
        for n, v in (started.get("prompt_versions") or {}).items()
        if _prompt_field(n) not in explicit
    }
    recorded: dict[str, Any] = {f"{n}_model": m for n, m in (started.get("models") or {}).items()}
    if started.get("thresholds"):
        review, publish = started["thresholds"]
        recorded |= {"review_threshold": float(review), "publish_threshold": float(publish)}
    ctx = await context_with(PromptStore(app.db.pool), base, versions)
    known = {f.name for f in fields(Context)}
    return replace(ctx, **{k: v for k, v in recorded.items() if k in known - explicit})


def _explicit_fields(ctx: Context) -> set[str]:
    """The fields ``ctx`` holds at other than their defaults (set by the environment or
    the caller)."""
    return {
        f.name
        for f in fields(Context)
        if f.name != "services" and getattr(ctx, f.name) != f.default
    }
