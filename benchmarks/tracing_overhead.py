"""What tracing costs a run: a two-task offline goal through the runner, untraced and
traced (LangSmith and OpenTelemetry at once, to receivers on 127.0.0.1 in this process).

Untraced and traced runs alternate ``--runs`` times, so a neighbour's load on the
machine hits both alike; the report gives each one's median seconds per run (the
traced figure includes the bounded flush at the end of each run) and the ratio
traced / untraced, and how many bytes the receivers got per run. Checkpoints go to an
embedded PostgreSQL in a fresh temporary folder (or ``--database-url``); memory is
in-process.

Run from the project root::

    uv run python -m benchmarks.tracing_overhead [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.report import parse_with_report_options, run_and_publish

GOAL = "posts on: thrifting and clothing repair"
TRACING_ENV = ("LANGSMITH_TRACING", "LANGSMITH_ENDPOINT", "LANGSMITH_API_KEY",
               "OTEL_EXPORTER_OTLP_ENDPOINT")  # fmt: skip


class _Sink(BaseHTTPRequestHandler):
    """Answers every request with 200 and counts the bytes it was sent."""

    protocol_version = "HTTP/1.0"
    received = 0
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        with _Sink.lock:
            _Sink.received += length
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = _handle


def _serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _set_tracing(url: str | None) -> None:
    from langsmith import utils as ls_utils

    for name in TRACING_ENV:
        os.environ.pop(name, None)
    if url is not None:
        os.environ.update(
            LANGSMITH_TRACING="true",
            LANGSMITH_ENDPOINT=url,
            LANGSMITH_API_KEY="lsv2-benchmark",
            OTEL_EXPORTER_OTLP_ENDPOINT=url,
        )
    ls_utils.get_env_var.cache_clear()  # langsmith caches what it read


async def measure(database_url: str, runs: int) -> dict[str, Any]:
    from chimera.adapters.memory.postgres import in_memory_store
    from chimera.adapters.postgres.database import Database
    from chimera.app.runner import Runner
    from chimera.app.wiring import postgres_services
    from chimera.settings import Settings

    sink, url = _serve()
    db = await Database.open(Settings(database_url=database_url))
    saved = {name: os.environ.get(name) for name in TRACING_ENV}
    times: dict[str, list[float]] = {"untraced": [], "traced": []}
    traced_bytes = 0
    try:
        runner = Runner(db, postgres_services(db), in_memory_store())
        # One untimed run of each: imports, the scorer's load, the tracing client.
        for warm in (None, url):
            _set_tracing(warm)
            await runner.run(GOAL, "ava")
        for _ in range(runs):
            for mode, target in (("untraced", None), ("traced", url)):
                _set_tracing(target)
                before = _Sink.received
                began = time.perf_counter()
                await runner.run(GOAL, "ava")
                times[mode].append(time.perf_counter() - began)
                if target is not None:
                    traced_bytes += _Sink.received - before
    finally:
        from langsmith import utils as ls_utils

        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        ls_utils.get_env_var.cache_clear()  # or langsmith keeps tracing on for the process
        await db.close()
        sink.shutdown()
    untraced, traced = (statistics.median(times[m]) for m in ("untraced", "traced"))
    return {
        "benchmark": "tracing_overhead",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "goal": GOAL,
        "runs": runs,
        "untraced_median_s": round(untraced, 3),
        "traced_median_s": round(traced, 3),
        "ratio_traced_to_untraced": round(traced / untraced, 2),
        "bytes_sent_per_traced_run": traced_bytes // max(runs, 1),
        "seconds": {m: [round(t, 3) for t in ts] for m, ts in times.items()},
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    if args.database_url:
        return await measure(args.database_url, args.runs)
    from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
    from chimera.adapters.embedded_postgres.uris import ensure_database

    # Not under a home folder: as root, embedded-postgres opens every parent of its folder.
    home = Path(tempfile.mkdtemp(prefix="chimera-bench-", dir="/tmp"))
    server = EmbeddedPostgres(home)
    try:
        return await measure(ensure_database(server.start(), "bench"), args.runs)
    finally:
        server.stop()


def render(report: dict[str, Any]) -> str:
    return (
        f"{report['runs']} runs of {report['goal']!r}, alternating:\n"
        f"  untraced  {report['untraced_median_s']:.3f} s (median)\n"
        f"  traced    {report['traced_median_s']:.3f} s (median; LangSmith + OTLP)\n"
        f"  ratio     {report['ratio_traced_to_untraced']:.2f}\n"
        f"  sent      {report['bytes_sent_per_traced_run']} bytes per traced run"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    return parse_with_report_options(
        parser, argv, "a PostgreSQL for checkpoints (default: embedded)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_and_publish("tracing_overhead", parse_args(argv), main_async, render)


if __name__ == "__main__":
    raise SystemExit(main())
