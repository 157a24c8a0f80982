"""Runner calls in processes of their own, for fault trials that need real concurrency
(or a process to SIGKILL) without paying the CLI's start-up on every call: the test
process imports Chimera once, and each call runs in a forked child that opens its own
database pool. A shared barrier lines children up so that their calls race."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any

FORK = mp.get_context("fork")


def _forked(
    env: dict[str, str],
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    barrier: Barrier | None,
    conn: Connection,
) -> None:
    os.environ.update(env)

    async def call() -> tuple[str, Any]:
        from chimera.app.runner import Runner
        from chimera.app.wiring import open_app
        from chimera.domain.errors import InputError

        async with open_app(memory=False) as app:
            runner = Runner.of(app)
            if barrier is not None:
                await asyncio.to_thread(barrier.wait, 60)
            try:
                return "ok", await getattr(runner, method)(*args, **kwargs)
            except InputError as exc:
                return "input_error", str(exc)
            except Exception as exc:
                return "error", f"{type(exc).__name__}: {exc}"

    conn.send(asyncio.run(call()))


def fork_call(
    env: dict[str, str], method: str, *args: Any, barrier: Barrier | None = None, **kwargs: Any
) -> tuple[Any, Connection]:
    """Starts ``Runner.<method>(*args, **kwargs)`` in a forked process. Returns the process
    (to kill or join) and the pipe its answer comes on."""
    import chimera.app.runner
    import chimera.app.wiring  # noqa: F401

    parent, child = FORK.Pipe()
    proc = FORK.Process(target=_forked, args=(env, method, args, kwargs, barrier, child))
    proc.start()
    return proc, parent


def answer(proc: Any, conn: Connection, timeout: float = 300) -> tuple[str, Any]:
    """The call's (status, result); status is ok, input_error or error."""
    if not conn.poll(timeout):
        proc.kill()
        raise AssertionError(f"runner process {proc.pid} did not answer in {timeout}s")
    result: tuple[str, Any] = conn.recv()
    proc.join(30)
    return result


def call(env: dict[str, str], method: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    return answer(*fork_call(env, method, *args, **kwargs))
