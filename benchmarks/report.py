"""Where benchmark reports go: ``benchmarks/results/<name>-<time>.json`` (ignored by git)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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
