"""The id LangGraph gives an interrupt, computed inside the node that raises it.

A reviewer's decision is recorded under its interrupt's id (``chimera_review_decisions``),
by the CLI and the studio before they resume and by the review node itself for a resume
that came another way (LangGraph's server). The node knows its namespace and how many
answers it has had, which is what LangGraph hashes; a contract test pins this against
the ids LangGraph surfaces, so an upgrade that changes the scheme fails there first.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import _interrupt_id

from chimera.graphs.context import Context


def interrupt_id_at(runtime: Runtime[Context], answered: int) -> str | None:
    """The id of this node's interrupt that comes after ``answered`` answers (0 for the
    first); None outside a checkpointed run."""
    info = runtime.execution_info
    if info is None:
        return None
    return _interrupt_id(info.checkpoint_ns, answered)
