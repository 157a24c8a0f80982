"""``chimera worker`` and ``chimera swarm up|status``: swarm mode on Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Annotated, Any

import typer

from chimera.cli import render
from chimera.cli.support import JsonOpt, emit_json, err, execute, fail, out, with_runner
from chimera.domain.errors import ConfigError

swarm_app = typer.Typer(help="Swarm mode: a one-machine swarm (up), what it is doing (status).")


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks drafted at once.")] = 1,
    name: Annotated[
        str | None, typer.Option(help="This worker's name in the swarm (default: host-pid).")
    ] = None,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds in-flight tasks get to finish on SIGTERM.")
    ] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Draft tasks from the swarm's task stream (CHIMERA_REDIS_URL) until SIGTERM or Ctrl-C:
    in-flight tasks finish, or go back to other workers."""
    from chimera.adapters.redis_streams.config import SwarmConfig
    from chimera.settings import Settings

    try:  # before importing the rest of Chimera: a missing Redis is said at once
        SwarmConfig.from_settings(Settings())
    except ConfigError as exc:
        fail(str(exc))
    from chimera.swarm.worker import default_name, serve

    who = name or default_name()

    async def work() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        settings = Settings()
        if not as_json:
            err.print(f"worker {who}: serving (concurrency {concurrency})", highlight=False)
        return await serve(settings, stop, name=who, concurrency=concurrency, grace_s=grace)

    done = execute(work)
    if as_json:
        emit_json({"worker": who, "drafted": done})
    else:
        err.print(f"worker {who}: stopped after drafting {done} task(s)", highlight=False)


@swarm_app.command("up")
def up(
    workers: Annotated[int, typer.Option(min=1, help="Worker processes to start.")] = 2,
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks each worker drafts at once.")] = 1,
    goal: Annotated[
        str | None, typer.Option(help="Run this goal through the swarm, then stop.")
    ] = None,
    persona: Annotated[str | None, typer.Option(help="The goal's persona.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A swarm on this machine: an embedded Redis (unless CHIMERA_REDIS_URL names one) and
    N workers, started again if they die. With --goal, runs it through them and stops;
    otherwise serves until Ctrl-C, for `chimera run` in another shell."""
    from chimera.settings import Settings
    from chimera.swarm.supervisor import EmbeddedRedis, WorkerPool, worker_env

    settings = Settings()
    embedded = None
    if settings.redis_url:
        url = settings.redis_url
    else:
        embedded = EmbeddedRedis(settings.home / "redis")
        url = embedded.start()
    try:
        with WorkerPool(workers, worker_env(url), concurrency=concurrency) as pool:
            names = sorted(pool.processes)
            if goal is None:
                info = {"redis": url, "workers": names}
                if as_json:
                    emit_json(info)
                else:
                    out.print(f"swarm: {workers} worker(s) on {url}; in another shell:\n"
                              f"  export CHIMERA_REDIS_URL={url}\n"
                              "  chimera run --persona ava --goal '...'   # drafted by the swarm\n"
                              "  chimera swarm status\nCtrl-C stops the swarm.",
                              highlight=False, soft_wrap=True)  # fmt: skip
                while True:  # the pool's watcher starts again any worker that dies
                    time.sleep(1.0)
            os.environ["CHIMERA_REDIS_URL"] = url  # this process's graph uses the swarm
            if not as_json:
                err.print(f"swarm: {workers} worker(s) on {url}; running the goal", highlight=False)

            async def work() -> dict[str, Any]:
                return await with_runner(lambda r: r.run(goal, persona), memory=True)

            view = execute(work)
            view["swarm"] = {"redis": url, "workers": names, "restarts": pool.restarts}
            emit_json(view) if as_json else render.thread(out, view)
    except KeyboardInterrupt:
        err.print("swarm: stopping")
    finally:
        if embedded is not None:
            embedded.stop()


@swarm_app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Queue depth, pending tasks per worker, dead letters, live workers, the oldest pending
    task's age and the throughput of the last minute."""
    from redis.exceptions import RedisError

    from chimera.adapters.redis_streams.config import QueueUnavailable, SwarmConfig, connect
    from chimera.adapters.redis_streams.status import read_status
    from chimera.settings import Settings

    async def work() -> dict[str, Any]:
        config = SwarmConfig.from_settings(Settings())
        client = connect(config)
        try:
            return await read_status(client, config)
        except (RedisError, OSError) as exc:
            raise QueueUnavailable(
                f"cannot reach the swarm's Redis at {config.shown_url} ({type(exc).__name__})"
            ) from None
        finally:
            await client.aclose()

    info = execute(work)
    if as_json:
        emit_json(info)
        return
    out.print(f"swarm on {info['redis']} (prefix {info['prefix']})", highlight=False)
    age = info["oldest_pending_s"]
    rate = f"{info['throughput_per_s']:.2f}/s, {info['failed_last_minute']} failed"
    rows = [
        ("waiting", info["queue_depth"]),
        ("pending", info["pending"]),
        ("oldest pending", f"{age:.1f} s" if age is not None else "-"),
        ("dead letters", info["dead_letters"]),
        ("done, last minute", f"{info['completed_last_minute']} ({rate})"),
    ]  # fmt: skip
    for label, value in rows:
        out.print(f"  {label:<18} {value}", highlight=False)
    out.print(f"  live workers       {len(info['live_workers'])}", highlight=False)
    for w in info["live_workers"]:
        out.print(f"    {w['name']:<24} {w['host']}:{w['pid']}  busy {w['busy']}/"
                  f"{w['concurrency']}  pending {w['pending']}  drafted {w['done']}",
                  highlight=False)  # fmt: skip
