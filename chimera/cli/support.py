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

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def execute(work: Callable[[], Awaitable[T]]) -> T:
    """Runs a command's (async) work and turns errors into exit statuses."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except InputError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except ChimeraError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted: the thread continues from its last checkpoint with --thread")
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("CHIMERA_DEBUG"):
            raise
        message = redact_value(f"{type(exc).__name__}: {exc}")
        err.print(f"[bold red]internal error:[/] {escape(message)}", highlight=False)
        err.print("set CHIMERA_DEBUG=1 for the traceback")
        raise typer.Exit(1) from None


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


async def with_runner(action: Callable[[Any], Awaitable[T]], *, memory: bool = False) -> T:
    """Opens Chimera (database, and long-term memory for commands that need it), hands a
    Runner to ``action``, and closes everything after."""
    from chimera.app.runner import Runner
    from chimera.app.wiring import open_app

    async with open_app(memory=memory) as app:
        return await action(Runner.of(app))
