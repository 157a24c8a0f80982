"""benchmarks/tracing_overhead.py runs, at one run per mode, and reports what it sent.
No timing is asserted (benchmarks/README.md)."""

from __future__ import annotations

import os
import secrets

from langsmith import utils as ls_utils

from benchmarks import tracing_overhead
from chimera.adapters.embedded_postgres.uris import ensure_database


async def test_tracing_benchmark_runs_and_restores_the_environment(embedded_server: str) -> None:
    before = {name: os.environ.get(name) for name in tracing_overhead.TRACING_ENV}
    url = ensure_database(embedded_server, f"chimera_bench_{secrets.token_hex(4)}")

    report = await tracing_overhead.measure(url, runs=1)

    assert report["runs"] == 1
    assert len(report["seconds"]["untraced"]) == len(report["seconds"]["traced"]) == 1
    assert report["ratio_traced_to_untraced"] > 0
    assert report["bytes_sent_per_traced_run"] > 0  # the traced run really was traced
    assert {name: os.environ.get(name) for name in tracing_overhead.TRACING_ENV} == before
    # ... and langsmith does not go on tracing the rest of the process from its cache.
    assert bool(ls_utils.tracing_is_enabled()) == bool(before["LANGSMITH_TRACING"])
    assert "ratio" in tracing_overhead.render(report)
