"""benchmarks/report.py: the options and the run-and-publish step the benchmarks share."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import report


def test_report_options_are_added_and_parsed() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = report.parse_with_report_options(parser, ["--json", "--database-url", "pg"], "db")
    assert (args.runs, args.json, args.database_url) == (5, True, "pg")
    assert report.parse_with_report_options(argparse.ArgumentParser(), [], "db").json is False


def test_run_and_publish_writes_and_prints_the_measured_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(report, "RESULTS", tmp_path / "results")

    async def measure(args: argparse.Namespace) -> dict[str, Any]:
        return {"runs": args.runs}

    args = argparse.Namespace(runs=3, json=False)
    assert report.run_and_publish("demo", args, measure, lambda r: f"{r['runs']} runs") == 0
    assert capsys.readouterr().out == "3 runs\n"
    (written,) = (tmp_path / "results").glob("demo-*.json")
    assert json.loads(written.read_text()) == {"runs": 3}
