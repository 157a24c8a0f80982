"""Where benchmark reports go: ``benchmarks/results/<name>-<time>.json`` (ignored by git)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def publish(name: str, report: dict[str, Any], as_json: bool, render: Callable[[Any], str]) -> Path:
    """Write the report to the results folder and print it (JSON or a readable table)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2) if as_json else render(report))
    return path


def parse_with_report_options(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, database_help: str
) -> argparse.Namespace:
    """Parse ``argv`` after adding the options the database benchmarks share."""
    parser.add_argument("--database-url", help=database_help)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def run_and_publish(
    name: str,
    args: argparse.Namespace,
    measure: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]],
    render: Callable[[Any], str],
) -> int:
    """Run the benchmark's measurement, publish its report; the exit status."""
    publish(name, asyncio.run(measure(args)), args.json, render)
    return 0
