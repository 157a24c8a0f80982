"""langgraph.json names what LangGraph's server can load, as its own loaders load it, and
the store index it declares is the one Chimera's store is opened with."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import StateGraph

from chimera.adapters.embeddings import ChimeraEmbeddings
from chimera.adapters.memory.postgres import index_config
from chimera.graphs.runtime import install_process_services

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((PROJECT_ROOT / "langgraph.json").read_text(encoding="utf-8"))


@pytest.fixture
def server_module() -> Iterator[Any]:
    module = importlib.import_module("chimera.app.server")
    yield module
    # Importing it installs the process's services; other tests wire their own.
    install_process_services(None)


def test_the_graph_is_the_uncompiled_builder(server_module: Any) -> None:
    module, variable = CONFIG["graphs"]["chimera"].split(":")
    graph = getattr(importlib.import_module(module), variable)
    assert isinstance(graph, StateGraph)
    assert graph.compile().get_graph().nodes.keys() >= {"intake", "planner", "task", "summary"}


def test_the_store_path_names_chimeras_memory_store(server_module: Any) -> None:
    # langgraph-api splits a module path on its last dot (a ':' there is read as part of
    # the attribute's name); `langgraph dev` loading it is tested in
    # tests/integration/test_langgraph_server.py.
    module, attribute = CONFIG["store"]["path"].rsplit(".", 1)
    assert getattr(importlib.import_module(module), attribute) is server_module.memory_store


def test_the_declared_index_is_chimeras() -> None:
    declared, live = CONFIG["store"]["index"], index_config()
    assert (declared["dims"], declared["fields"]) == (live["dims"], live["fields"])
    path, attribute = declared["embed"].split(":")
    spec = importlib.util.spec_from_file_location("declared_embeddings", PROJECT_ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # by path, as the server loads it
    embeddings = getattr(module, attribute)
    assert isinstance(embeddings, ChimeraEmbeddings)
    assert len(embeddings.embed_query("thrifting")) == declared["dims"]
