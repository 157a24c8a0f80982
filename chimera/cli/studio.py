"""``chimera studio``: the Streamlit studio, on the same database as the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import as_file, files
from typing import Annotated

import typer

from chimera.cli.support import JsonOpt, emit_json, out


def studio(
    port: Annotated[int, typer.Option(help="Port to serve the studio on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    as_json: JsonOpt = False,
) -> None:
    """Start the studio (sign in with a user made by 'chimera user add')."""
    entry = files("chimera") / "studio" / "app.py"
    with as_file(entry) as path:
        url = f"http://{address}:{port}"
        # Where it will listen, first: a supervising script reads this line.
        emit_json({"url": url, "entry": str(path)}) if as_json else out.print(f"studio: {url}")
        command = [
            sys.executable, "-m", "streamlit", "run", str(path),
            "--server.port", str(port), "--server.address", address,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            *(["--logger.level", "error"] if as_json else []),
        ]  # fmt: skip
        # Streamlit's own SIGTERM handling stops it; its exit status is ours.
        raise typer.Exit(subprocess.call(command, env=os.environ.copy()))
