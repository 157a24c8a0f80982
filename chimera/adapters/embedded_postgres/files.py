"""Reading the server's files without failing: its pid file, its log's size and tail."""

from __future__ import annotations

import os
from pathlib import Path

LOG_TAIL_LINES = 20


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_tail(path: Path, offset: int = 0) -> str:
    """The last lines of ``path`` written after byte ``offset``."""
    try:
        with path.open("rb") as file:
            if file.seek(0, os.SEEK_END) < offset:
                offset = 0  # the file was replaced since
            file.seek(offset)
            text = file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])
