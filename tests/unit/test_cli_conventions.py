"""CLI conventions that need no database: --version, completion, --json on every command,
usage errors as JSON on stderr with exit 2, required options shown as required."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer

from chimera.cli.main import app

CHIMERA = Path(sys.executable).parent / "chimera"


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}".strip()
        if getattr(command, "commands", None):
            found |= _commands(command, path)
            if getattr(command, "invoke_without_command", False):  # a group that runs alone
                found[path] = command
        else:
            found[path] = command
    return found


def test_every_command_takes_json() -> None:
    commands = _commands(typer.main.get_command(app))
    assert {"run", "resume", "show", "threads", "posts", "audit", "db status", "db stop"} <= set(
        commands
    )
    missing = [
        p for p, c in commands.items() if "--json" not in {o for x in c.params for o in x.opts}
    ]
    assert not missing, f"commands without --json: {missing}"


def test_version_and_completion() -> None:
    done = subprocess.run([str(CHIMERA), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"chimera {version('chimera')}"
    shown = subprocess.run(
        [str(CHIMERA), "--help"], capture_output=True, text=True, timeout=60, env={"COLUMNS": "200"}
    )
    assert "--install-completion" in shown.stdout and "--version" in shown.stdout


def test_usage_errors_are_json_under_json_and_exit_2() -> None:
    done = subprocess.run(
        [str(CHIMERA), "resume", "th-1", "--json"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    error = json.loads(done.stderr)["error"]
    assert error["kind"] == "usage" and "--item" in error["message"] and error["exit"] == 2
    plain = subprocess.run([str(CHIMERA), "resume", "th-1"], capture_output=True, text=True)
    assert plain.returncode == 2 and "Missing option '--item'" in plain.stderr


def test_required_options_are_marked() -> None:
    resume = _commands(typer.main.get_command(app))["resume"]
    required = {p.name for p in resume.params if p.required}
    assert {"thread", "item", "decision"} <= required
    run = _commands(typer.main.get_command(app))["run"]
    helps = {p.name: getattr(p, "help", "") or "" for p in run.params}
    assert "required unless --thread" in helps["goal"] and "required unless" in helps["persona"]
