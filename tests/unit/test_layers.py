"""The house's rules, checked on the source: imports run one way and form no cycle.

Layers, lowest first: the domain (no LangGraph, no I/O libraries); the graph (state,
context, prompts, nodes); adapters (PostgreSQL, memory stores, models, embeddings)
and tools; the application (runner, wiring, evals); its faces (CLI, studio, server).
A module may import its own layer and the layers below, never above.
"""

from __future__ import annotations

import ast
import os
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from pathlib import Path

import pytest

PACKAGE = Path(str(files("chimera")))
LAYERS: dict[str, int] = {
    "chimera.domain": 0,
    "chimera.graphs": 1,
    "chimera.nodes": 1,
    "chimera.settings": 2,
    "chimera.adapters": 2,
    "chimera.tools": 2,
    "chimera.app": 3,
    "chimera.evals": 3,
    "chimera.swarm": 3,
    "chimera.cli": 4,
    "chimera.studio": 4,
}
FACES = ("chimera.app.server",)  # LangGraph's server entry point is a face of the app
# What the domain may not import: frameworks and I/O belong to the layers above it.
DOMAIN_FORBIDDEN = ("langgraph", "langchain", "langchain_core", "psycopg", "redis", "weaviate")


def modules() -> dict[str, Path]:
    found = {}
    # os.walk, not rglob: chimera/graphs, chimera/nodes... are links to the top-level folders.
    paths = [
        Path(folder, file)
        for folder, _dirs, names in os.walk(PACKAGE, followlinks=True)
        for file in names
        if file.endswith(".py")
    ]
    for path in paths:
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = ["chimera", *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "personagym" in parts:
            continue
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def layer_of(module: str) -> int | None:
    if module in FACES:
        return 4
    best = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(best, key=len)] if best else None


MODULES = modules()
GRAPH = {
    name: {m for m in imports_of(path, name) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in MODULES if m != "chimera" and layer_of(m) is None]
    assert not unplaced, f"modules outside the layers: {unplaced}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_never_point_up(name: str) -> None:
    own = layer_of(name)
    if own is None:
        return
    upward = [m for m in GRAPH[name] if (layer_of(m) or 0) > own]
    assert not upward, f"{name} (layer {own}) imports from above: {upward}"
    if own == 0:
        external = imports_of(MODULES[name], name)
        bad = [m for m in external if m.split(".")[0] in DOMAIN_FORBIDDEN]
        assert not bad, f"the domain module {name} imports {bad}"


def test_no_import_cycle() -> None:
    try:
        tuple(TopologicalSorter(GRAPH).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_the_rules_catch_a_violation() -> None:
    """The check itself works: an upward import and a cycle are both seen."""
    assert layer_of("chimera.domain.gate") == 0 and layer_of("chimera.cli.main") == 4
    with pytest.raises(CycleError):
        tuple(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())
