"""``chimera judge --persona ID --text "..." [--topic T] [--brief B] [--json]``: score one
draft as the judge node does and show every signal with its reasons, the flags, the
confidence and the route. Memory is seeded as a run seeds it (fresh, as in ``chimera
eval gate``, so a score does not depend on past posts); the fitted combiner is the one in
Chimera's memory. ``--text -`` reads the draft from standard input. Exit status: 0 scored,
2 bad input (unknown persona, empty text), 1 internal error."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chimera.cli.support import JsonOpt, emit_json, execute, fail, out, with_runner


def _draft_text(text: str) -> str:
    draft = sys.stdin.read() if text == "-" else text
    if not draft.strip():
        fail("the draft is empty: give its text with --text (or --text - to read stdin)")
    if "\x00" in draft:
        fail("the draft holds a NUL character; remove it")
    return draft


def _print_verdict(result: dict[str, Any]) -> None:
    verdict = result
    out.print(
        f"[bold]{escape(result['persona'])}[/]  topic {escape(repr(result['topic']))}  "
        f"judge model {escape(result['judge_model'])}",
        highlight=False,
    )
    table = Table(show_lines=True)
    for column in ("signal", "score", "weight", "reasons"):
        numeric = column in ("score", "weight")
        table.add_column(column, overflow="fold", justify="right" if numeric else "left")
    for signal in verdict["signals"]:
        table.add_row(
            signal["name"],
            f"{signal['score']:.3f}",
            f"{signal['weight']:.3f}",
            escape("\n".join(signal["reasons"])) or "-",
        )
    out.print(table)
    flags = escape(", ".join(verdict["flags"])) or "none"
    review, publish = result["thresholds"]["review"], result["thresholds"]["publish"]
    out.print(f"flags: {flags}", highlight=False)
    out.print(
        f"confidence {verdict['confidence']:.3f} (review below {review}, publish above "
        f"{publish}) -> route [bold]{verdict['route']}[/]",
        highlight=False,
    )


def judge(
    persona: Annotated[str, typer.Option(help="Persona id (ava, kai, ren) or path to a SOUL.md.")],
    text: Annotated[str, typer.Option(help="The draft to score ('-' reads standard input).")],
    topic: Annotated[
        str | None, typer.Option(help="The task's topic (default: the persona's first topic).")
    ] = None,
    brief: Annotated[
        str | None, typer.Option(help="The task's brief (default: 'A post on <topic>.').")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score one draft with the judge: every signal with its reasons, flags, confidence and
    route. Nothing is published or remembered."""
    from chimera.adapters.persona_files import load_persona

    draft = _draft_text(text)
    loaded = execute(lambda: asyncio.to_thread(load_persona, persona))
    task_topic = (topic or loaded["topics"][0]).strip()
    task_brief = (brief or f"A post on {task_topic}.").strip()
    if not task_topic or not task_brief:
        fail("--topic and --brief must not be empty")

    async def work(runner: Any) -> dict[str, Any]:
        from chimera.domain.types import Task
        from chimera.evals.gate import seeded_store
        from chimera.nodes.judge import judge_draft

        runner.check_models()
        context = runner.context
        store = await seeded_store([loaded], combiner_from=runner.store)
        task = Task(id="judge", kind="post", topic=task_topic, brief=task_brief)
        judged = await judge_draft(context, context.services, store, loaded, task, draft)
        review, publish = context.thresholds_for(loaded.get("thresholds") or {})
        return {
            "persona": loaded["id"],
            "topic": task_topic,
            "brief": task_brief,
            "judge_model": context.judge_model,
            "thresholds": {"review": review, "publish": publish},
            **judged.verdict,
        }

    result = execute(lambda: with_runner(work, memory=True))
    if as_json:
        emit_json(result)
    else:
        _print_verdict(result)
