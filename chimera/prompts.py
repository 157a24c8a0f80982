"""Node prompts as versioned files: ``prompts/<node>/v<N>.md``; the highest N is current."""

from __future__ import annotations

import re
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_VERSION = re.compile(r"^v(\d+)\.md$")


def prompt_versions(node: str, root: Path = PROMPTS_DIR) -> list[int]:
    """The versions of a node's prompt, oldest first."""
    folder = root / node
    if not folder.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def load_prompt(node: str, version: int | None = None, root: Path = PROMPTS_DIR) -> str:
    """The text of a node's prompt; the latest version unless one is named."""
    versions = prompt_versions(node, root)
    if not versions:
        raise FileNotFoundError(f"no prompt for node {node!r}: expected {root / node}/v1.md")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise FileNotFoundError(f"prompt {node!r} has no version {chosen}: have {versions}")
    return (root / node / f"v{chosen}.md").read_text(encoding="utf-8")
