"""The studio's one opened Chimera per process, on an event loop of its own.

Streamlit runs each page in a fresh script thread; a psycopg pool must stay on the loop
it was opened on. So the app (database, memory, services) is opened once on a loop that
runs in a background thread, and every page action is a coroutine handed to that loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from chimera.adapters.postgres.prompts import PromptStore
from chimera.adapters.postgres.users import UserStore
from chimera.app.wiring import App, open_app
from chimera.settings import Settings

T = TypeVar("T")


@dataclass
class Backend:
    loop: asyncio.AbstractEventLoop
    app: App
    users: UserStore
    prompts: PromptStore
    _opened: AbstractAsyncContextManager[App]

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 600) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        self.call(self._opened.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)


def open_backend(settings: Settings | None = None) -> Backend:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="chimera-studio-loop", daemon=True).start()
    opened = open_app(settings or Settings())

    async def start() -> App:
        app = await opened.__aenter__()
        await PromptStore(app.db.pool).seed()
        return app

    app = asyncio.run_coroutine_threadsafe(start(), loop).result(120)
    return Backend(loop, app, UserStore(app.db.pool), PromptStore(app.db.pool), opened)
