"""The embeddings that ``langgraph.json``'s ``store.index`` names.

LangGraph's server resolves ``store.index.embed`` as it starts even when ``store.path``
names a custom store, loading this file by path (as a second copy of the module): so it
holds nothing but a lazy ``ChimeraEmbeddings``, which shares the process's embedder. The
live index is the one Chimera's own store opens with
(``chimera.adapters.memory.postgres.index_config``); a unit test keeps the two alike.
"""

from __future__ import annotations

from chimera.adapters.embeddings import ChimeraEmbeddings

embeddings = ChimeraEmbeddings()
