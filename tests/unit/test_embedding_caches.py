"""The judge's caches of vectors: each keyed by the text it embeds, so a changed text
(an edited persona fact, another draft) is never served an old text's vector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from unittest.mock import patch

import numpy as np
import pytest

from chimera.adapters.embeddings import EMBEDDING_DIM, AloneVectors, ChimeraEmbeddings, Embedder
from chimera.adapters.nli.scorer import CachingEmbedder, PersonaConsistencyScorer


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


def test_alone_vectors_forget_the_oldest_and_are_read_only() -> None:
    inner = CountingEmbedder()
    alone = AloneVectors(inner, size=2)
    vector = alone.vector("one")
    with pytest.raises(ValueError):
        vector[0] = 99.0  # shared between callers: nobody may change it
    alone.vector("two")
    alone.vector("three")  # "one" is the oldest: forgotten
    assert not alone.remembers("one")
    alone.vector("one")
    assert inner.asked == ["one", "two", "three", "one"]


def test_the_store_hands_out_lists_of_its_own() -> None:
    embeddings = ChimeraEmbeddings(CountingEmbedder())
    vector = embeddings.embed_query("one")
    vector[0] = 99.0
    assert embeddings.embed_query("one")[0] != 99.0


def test_the_scorer_and_the_store_share_a_draft_embedded_alone() -> None:
    inner = CountingEmbedder()
    embeddings = ChimeraEmbeddings()
    scorer = PersonaConsistencyScorer()
    # The shared embedder, faked for this test only.
    with patch("chimera.adapters.embeddings.get_embedder", return_value=inner):
        searched = embeddings.embed_query("a draft no other test embeds")
        judged = scorer.embedder.embed_alone("a draft no other test embeds")
        other = scorer.embedder.embed_alone("its brief, no other test's either")
    assert judged.tolist() == searched
    assert other.tolist() != searched
    assert inner.asked == ["a draft no other test embeds", "its brief, no other test's either"]


def test_the_batch_cache_is_keyed_by_text() -> None:
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner)
    before = cache.embed(["I live in Lisbon.", "I have two dogs."])
    after = cache.embed(["I live in Porto.", "I have two dogs."])  # a fact edited
    assert not np.array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert inner.asked == ["I live in Lisbon.", "I have two dogs.", "I live in Porto."]


def test_a_warmed_scorer_embeds_only_the_persona_side() -> None:
    inner = CountingEmbedder()
    scorer = PersonaConsistencyScorer(embedder=inner)
    scorer.warm_sentences(["I have two dogs."])
    scorer.warm_words(["I have two dogs."])
    assert inner.asked == ["I have two dogs.", "dogs", "two"]
    probs = scorer.predict_proba([("I have two dogs.", "I have a cat.")])
    assert probs.shape == (1, 3)
    assert inner.asked[3:] == ["I have a cat.", "cat"]


def test_remembered_tokens_are_the_texts_own_and_hand_out_copies() -> None:
    from chimera.adapters.nli.features import content_tokens, tokenize

    tokens = tokenize("I don't own a car.")
    assert tokens == ["i", "do", "n't", "own", "a", "car"]
    tokens.append("boat")  # a caller's change stays in the caller's list
    assert tokenize("I don't own a car.") == ["i", "do", "n't", "own", "a", "car"]
    assert content_tokens("I sold my car.") == ["car", "sold"]
    assert content_tokens("I sold my boat.") == ["boat", "sold"]  # an edited text: its own
    words = content_tokens("I sold my boat.")
    words.clear()
    assert content_tokens("I sold my boat.") == ["boat", "sold"]
