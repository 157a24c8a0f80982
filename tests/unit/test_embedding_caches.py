"""The judge's caches of vectors: each keyed by the text it embeds, so a changed text
(an edited persona fact, another draft) is never served an old text's vector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from chimera.adapters.embeddings import EMBEDDING_DIM, ChimeraEmbeddings, Embedder


class CountingEmbedder(Embedder):
    """A vector per text from its hash, counting what it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked += list(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).random(EMBEDDING_DIM) for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), EMBEDDING_DIM)
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)


def test_a_query_searched_again_is_embedded_once() -> None:
    inner = CountingEmbedder()
    embeddings = ChimeraEmbeddings(inner)
    first = embeddings.embed_query("a draft")
    again = asyncio.run(embeddings.aembed_query("a draft"))
    assert first == again
    assert inner.asked == ["a draft"]


def test_another_text_is_embedded_not_served_the_remembered_vector() -> None:
    inner = CountingEmbedder()
    embeddings = ChimeraEmbeddings(inner)
    old = embeddings.embed_query("I live in Lisbon.")
    new = embeddings.embed_query("I live in Porto.")
    assert new != old
    assert inner.asked == ["I live in Lisbon.", "I live in Porto."]


def test_the_query_cache_forgets_the_oldest_and_hands_out_copies() -> None:
    inner = CountingEmbedder()
    embeddings = ChimeraEmbeddings(inner, query_cache=2)
    vector = embeddings.embed_query("one")
    vector[0] = 99.0  # a caller's change stays in the caller's list
    assert embeddings.embed_query("one")[0] != 99.0
    embeddings.embed_query("two")
    embeddings.embed_query("three")  # "one" is the oldest: forgotten
    embeddings.embed_query("one")
    assert inner.asked == ["one", "two", "three", "one"]
