"""A Runner in a process of its own, for fault trials that need real concurrency without
paying the CLI's start-up on every call: the parent sends requests over a pipe, and a
shared barrier lines the processes up so that their calls race."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any


def serve(database_url: str, conn: Connection, barrier: Barrier) -> None:
    os.environ["CHIMERA_DATABASE_URL"] = database_url
    asyncio.run(_serve(conn, barrier))


async def _serve(conn: Connection, barrier: Barrier) -> None:
    from chimera.app.runner import Runner
    from chimera.app.wiring import open_app
    from chimera.domain.errors import InputError
    from chimera.settings import Settings

    async with open_app(Settings(), memory=False) as app:
        runner = Runner.of(app)
        conn.send(("ready", None))
        while True:
            request = conn.recv()
            if request is None:
                return
            method, args, kwargs = request
            if kwargs.pop("race", False):
                await asyncio.to_thread(barrier.wait, 30)
            try:
                result = await getattr(runner, method)(*args, **kwargs)
                conn.send(("ok", result))
            except InputError as exc:
                conn.send(("input_error", str(exc)))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


class Workers:
    """``n`` runner processes against one database."""

    def __init__(self, database_url: str, n: int = 2) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(n)
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=serve, args=(database_url, child, self.barrier))
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for pipe in self.pipes:
            # Imports take seconds, minutes on a loaded 2-core machine.
            assert pipe.poll(300), "a runner process did not start"
            assert pipe.recv()[0] == "ready"

    def call(self, i: int, method: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
        self.pipes[i].send((method, args, kwargs))
        return self.wait(i)

    def send(self, i: int, method: str, *args: Any, **kwargs: Any) -> None:
        self.pipes[i].send((method, args, kwargs))

    def wait(self, i: int, timeout: float = 120) -> tuple[str, Any]:
        assert self.pipes[i].poll(timeout), f"runner process {i} did not answer"
        answer: tuple[str, Any] = self.pipes[i].recv()
        return answer

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for proc in self.procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
