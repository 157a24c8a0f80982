"""The ``chimera`` command line: readable by default, ``--json`` for machines.

Exit status: 0 when the command did its work (a thread waiting on reviews included),
2 for bad input (the message says what to fix; nothing changed), 1 for an internal error.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer

from chimera.cli import render
from chimera.cli.evals import eval_app
from chimera.cli.judge import judge
from chimera.cli.studio import studio
from chimera.cli.support import (
    JsonOpt,
    emit_json,
    err,
    execute,
    fail,
    out,
    redact_output,
    with_app,
    with_runner,
)
from chimera.cli.swarm import swarm_app, worker
from chimera.cli.users import user_app

app = typer.Typer(
    help="Chimera: AI influencer personas run as a supervised agent swarm.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database: status of the embedded PostgreSQL, stop it.")
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")
app.add_typer(user_app, name="user")
app.command()(studio)
app.command()(judge)
app.add_typer(swarm_app, name="swarm")
app.command()(worker)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"chimera {package_version('chimera')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Chimera: AI influencer personas run as a supervised agent swarm."""


def _user() -> str:
    return os.environ.get("USER") or "cli"


def _progress(as_json: bool) -> Callable[[dict[str, Any]], None] | None:
    if as_json:
        return None
    return lambda event: err.print(render.progress_line(event), highlight=False)


@app.command()
def run(
    goal: Annotated[
        str | None,
        typer.Option(help="What the persona should do. [required unless --thread continues]"),
    ] = None,
    persona: Annotated[
        str | None,
        typer.Option(
            help="Persona id (ava, kai, ren) or path to a SOUL.md. [required unless --thread]"
        ),
    ] = None,
    thread: Annotated[
        str | None, typer.Option(help="Thread id; an unfinished thread continues.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a goal for a persona until it completes or waits on reviews. A new run takes each
    node's default prompt version (promoted in the studio); a continued thread keeps the
    versions, models and thresholds it started with, unless the environment sets them."""
    from chimera.app.run_settings import new_run_context, run_recorded, thread_context
    from chimera.app.runner import Runner, new_thread_id

    async def go(app: Any) -> dict[str, Any]:
        progress = _progress(as_json)
        if thread is not None and await Runner.of(app).threads.get(thread) is not None:
            runner = Runner.of(app, await thread_context(app, thread))
            return await runner.run(goal, persona, thread, on_progress=progress)
        ctx, chosen = await new_run_context(app)
        return await run_recorded(
            Runner.of(app, ctx), chosen, f"human:{_user()}", goal, persona,
            thread_id=thread or new_thread_id(), on_progress=progress, via="cli",
        )  # fmt: skip

    async def work() -> dict[str, Any]:
        return await with_app(go, memory=True)

    view = execute(work)
    emit_json(view) if as_json else render.thread(out, view)


@app.command()
def resume(
    thread: Annotated[str, typer.Argument(help="The thread waiting on a review.")],
    item: Annotated[str, typer.Option(help="Interrupt id (or a unique prefix of 6+ chars).")],
    decision: Annotated[str, typer.Option(help="approve, edit, reject or retry.")],
    text: Annotated[str | None, typer.Option(help="The new text, with --decision edit.")] = None,
    feedback: Annotated[
        str | None, typer.Option(help="What to change, with retry (or why, with reject).")
    ] = None,
    reviewer: Annotated[str | None, typer.Option(help="Who decides (default: $USER).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer one pending review; the thread's other reviews stay pending. The graph runs
    on with the prompt versions, models and thresholds the thread started with."""
    from chimera.app.run_settings import thread_context
    from chimera.app.runner import Runner

    who = reviewer or _user()

    async def go(app: Any) -> dict[str, Any]:
        runner = Runner.of(app, await thread_context(app, thread))
        return await runner.resume(thread, item, decision, text=text, feedback=feedback,
                                   reviewer=who, on_progress=_progress(as_json))  # fmt: skip

    async def work() -> dict[str, Any]:
        return await with_app(go, memory=True)

    view = execute(work)
    emit_json(view) if as_json else render.thread(out, view)


@app.command()
def show(
    thread: Annotated[str, typer.Argument(help="Thread id.")],
    history: Annotated[bool, typer.Option("--history", help="List the checkpoints.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A thread's state, pending reviews and (with --history) checkpoints."""
    view = execute(lambda: with_runner(lambda r: r.show(thread, history)))
    emit_json(view) if as_json else render.thread(out, view)


threads_app = typer.Typer(help="Threads: list them (live, stalled, interrupted, ...), prune.")
app.add_typer(threads_app, name="threads")


@threads_app.callback(invoke_without_command=True)
def threads(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="running, stalled (its process died), interrupted, completed, failed."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List threads, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    rows = execute(lambda: with_runner(lambda r: r.list_threads(status)))
    emit_json(rows) if as_json else render.threads(out, rows)


@threads_app.command("prune")
def threads_prune(
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only threads finished this many days ago.")
    ],
    status: Annotated[
        str | None, typer.Option(help="completed (all finished) or discarded (none published).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete finished threads' checkpoints; posts, audit trail and memory stay."""
    report = execute(lambda: with_runner(lambda r: r.prune(older_than, status, dry_run)))
    if as_json:
        emit_json(report)
        return
    verb = "would free" if dry_run else "freed"
    out.print(f"{len(report['threads'])} thread(s): {verb} {report['bytes']} bytes of checkpoints")


@app.command()
def posts(
    thread: Annotated[str | None, typer.Option(help="Only this thread's posts.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Published posts with their review status."""
    rows = execute(lambda: with_runner(lambda r: r.posts(thread)))
    emit_json(rows) if as_json else render.posts(out, rows)


@app.command()
def audit(
    thread: Annotated[str, typer.Argument(help="Thread id.")],
    as_json: JsonOpt = False,
) -> None:
    """The audit trail of a thread: every node run, verdict and human decision."""
    rows = execute(lambda: with_runner(lambda r: r.audit(thread)))
    emit_json(rows) if as_json else render.audit(out, rows)


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Where the database is, and whether the embedded one is running."""
    from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
    from chimera.settings import Settings

    settings = Settings()
    if settings.database_url:
        info: dict[str, Any] = {"embedded": False, "url": _mask_url(settings.database_url)}
    else:
        info = {"embedded": True, **EmbeddedPostgres(settings.home).status()}
    info["memory"] = settings.memory_url or "the database itself"
    emit_json(info) if as_json else out.print_json(data=info)


@db_app.command("stop")
def db_stop(as_json: JsonOpt = False) -> None:
    """Stop the embedded PostgreSQL (it starts again with the next command)."""
    from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
    from chimera.settings import Settings

    settings = Settings()
    if settings.database_url and settings.memory_url != "embedded":
        fail("CHIMERA_DATABASE_URL is set; Chimera does not manage that server")
    EmbeddedPostgres(settings.home).stop()
    emit_json({"stopped": True}) if as_json else out.print("embedded PostgreSQL stopped")


def _mask_url(url: str) -> str:
    from chimera.domain.redaction import redact_text, secret_values

    return redact_text(url, secret_values())


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # A normal exit runs the atexit hooks, so an embedded PostgreSQL this process owns
    # is stopped; the graph continues from its last checkpoint with --thread.
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("CHIMERA_DEBUG") else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    redact_output()
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:
        # Usage errors (a missing option, a bad value) are bad input: exit 2, as JSON too.
        if "--json" in sys.argv:
            message = exc.format_message()
            body = {"error": {"kind": "usage", "message": message, "exit": 2}}
            sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
        else:
            exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        err.print("interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
