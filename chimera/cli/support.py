"""What every ``chimera`` command shares: consoles, JSON output, error handling (exit 2
for bad input, 1 for internal errors), and opening the database and memory."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chimera.domain.errors import ChimeraError, InputError
from chimera.domain.redaction import redact_value

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


class _Mode:
    """Whether this command prints JSON: set by ``--json`` before the command runs, so
    errors (raised anywhere) come out as JSON on stderr too."""

    json = False


def _json_mode(value: bool) -> bool:
    _Mode.json = _Mode.json or value
    return value


JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print JSON for machines (errors too, on stderr).",
                 callback=_json_mode),
]  # fmt: skip


def fail(message: str, code: int = 2, *, kind: str = "input", hint: str | None = None) -> None:
    """Print an error (text, or JSON under --json) and exit with ``code``:
    2 bad input or configuration (nothing changed), 1 internal, 130 interrupted."""
    if _Mode.json:
        body: dict[str, Any] = {"error": {"kind": kind, "message": message, "exit": code}}
        if hint:
            body["error"]["hint"] = hint
        sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        label = "internal error" if kind == "internal" else "error"
        err.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False)
        if hint:
            err.print(hint, highlight=False)
    raise typer.Exit(code)


def execute(work: Callable[[], Awaitable[T]]) -> T:
    """Runs a command's (async) work and turns errors into exit statuses."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except InputError as exc:
        fail(str(exc), 2)
    except ChimeraError as exc:
        fail(str(exc), 1, kind="chimera")
    except KeyboardInterrupt:
        fail(
            "interrupted: the thread continues from its last checkpoint with --thread",
            130,
            kind="interrupted",
        )
    except Exception as exc:
        if os.environ.get("CHIMERA_DEBUG"):
            raise
        message = redact_value(f"{type(exc).__name__}: {exc}")
        fail(message, 1, kind="internal", hint="set CHIMERA_DEBUG=1 for the traceback")
    raise AssertionError("unreachable: fail() always exits")


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


async def with_runner(action: Callable[[Any], Awaitable[T]], *, memory: bool = False) -> T:
    """Opens Chimera (database, and long-term memory for commands that need it), hands a
    Runner to ``action``, and closes everything after."""
    from chimera.app.runner import Runner
    from chimera.app.wiring import open_app

    async with open_app(memory=memory) as app:
        return await action(Runner.of(app))
