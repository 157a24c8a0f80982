"""What every ``chimera`` command shares: consoles, JSON output, error handling (exit 2
for bad input, 1 for internal errors), and opening the database and memory."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from chimera.domain.errors import ChimeraError, InputError
from chimera.domain.redaction import redact_text, redact_value, secret_values

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


class Stopped(Exception):
    """SIGTERM arrived: the command's work was cancelled (leases released on the way out)."""


async def _stoppable(work: Callable[[], Awaitable[T]]) -> T:
    """Runs ``work``, cancelling it on SIGTERM so that ``finally`` blocks (lease release,
    pool close, the embedded PostgreSQL's handle) run instead of a traceback."""
    task = asyncio.current_task()
    assert task is not None
    stopped: list[int] = []

    def stop() -> None:
        stopped.append(signal.SIGTERM)
        task.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        return await work()
    except asyncio.CancelledError:
        if stopped:
            raise Stopped() from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def execute(work: Callable[[], Awaitable[T]]) -> T:
    """Runs a command's (async) work and turns errors into exit statuses."""
    try:
        return asyncio.run(_stoppable(work))
    except Stopped:
        err.print("stopped (SIGTERM): the thread continues from its last checkpoint with --thread")
        raise typer.Exit(143) from None
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
            # The traceback, with every known secret masked (provider errors echo keys).
            lines = "".join(traceback.format_exception(exc))
            sys.stderr.write(redact_text(lines, secret_values()))
            raise typer.Exit(1) from None
        message = redact_value(f"{type(exc).__name__}: {exc}")
        fail(message, 1, kind="internal", hint="set CHIMERA_DEBUG=1 for the traceback")
    raise AssertionError("unreachable: fail() always exits")


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


async def with_app(action: Callable[[Any], Awaitable[T]], *, memory: bool = False) -> T:
    """Opens Chimera (database, and long-term memory for commands that need it), hands the
    App to ``action``, and closes everything after."""
    from chimera.app.wiring import open_app

    async with open_app(memory=memory) as app:
        return await action(app)


async def with_runner(action: Callable[[Any], Awaitable[T]], *, memory: bool = False) -> T:
    """``with_app`` for commands that need only a Runner with the configured context."""
    from chimera.app.runner import Runner

    return await with_app(lambda app: action(Runner.of(app)), memory=memory)


class RedactingFilter(logging.Filter):
    """Masks known secrets in every log record (libraries log URLs and response bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets = secret_values()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.msg = f"{record.msg}\n{redact_text(text, self.secrets)}"
            record.exc_info = None
        return True


def redact_output() -> None:
    """Masks secrets in logs and library warnings, for the whole process."""
    redacting = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    show = warnings.showwarning

    def show_redacted(message: Warning | str, category: type[Warning], *args: Any) -> None:
        show(redact_text(str(message), redacting.secrets), category, *args)

    warnings.showwarning = show_redacted  # type: ignore[assignment]
