"""One contract for every long-term memory backend behind LangGraph's ``BaseStore``.

Backends: ``memory`` (InMemoryStore), ``postgres`` (AsyncPostgresStore + pgvector on a fresh
database of the embedded server), ``weaviate-fake`` (WeaviateStore through the real
weaviate-client against ``support.fake_weaviate``) and ``weaviate-real`` (WeaviateStore on
the server named by WEAVIATE_URL, e.g. ``weaviate://host:8080?grpc_port=50051``; only
collected when it is set, as no Weaviate server runs on these machines).

Comparison filters use single-digit numbers: the Postgres store compares ``$gt`` and
friends as text (``'10' > '5'`` is false), the others as numbers.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from langgraph.store.base import BaseStore, Item, SearchItem
from psycopg_pool import AsyncConnectionPool

from chimera.adapters.embedded_postgres.uris import ensure_database
from chimera.adapters.embeddings import ChimeraEmbeddings
from chimera.adapters.memory.postgres import in_memory_store, open_postgres_store
from chimera.adapters.memory.weaviate.connection import parse_url
from chimera.adapters.memory.weaviate.naming import collection_name
from chimera.adapters.memory.weaviate.store import WeaviateStore
from chimera.adapters.postgres.database import CONNECTION_KWARGS
from chimera.domain.errors import ConfigError
from chimera.graphs.memory import namespaces as ns
from support.fake_weaviate import FakeWeaviate

BACKENDS = ["memory", "postgres", "weaviate-fake"]
if os.environ.get("WEAVIATE_URL"):
    BACKENDS.append("weaviate-real")
DENIM = "how I repaired my ripped denim"
SOUP = "a recipe for lentil soup"
LAPTOP = "benchmarks of my new gaming laptop"
QUERY = "mending torn jeans"


@pytest.fixture(scope="session")
def embeddings() -> ChimeraEmbeddings:
    return ChimeraEmbeddings()


@pytest.fixture(scope="session")
def fake_weaviate() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as fake:
        yield fake


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def store_database_url(embedded_server: str) -> Iterator[str]:
    """A fresh database on the embedded server (it ships pgvector)."""
    name = f"chimera_store_{secrets.token_hex(4)}"
    yield ensure_database(embedded_server, name)
    _drop_database(embedded_server, name)


async def _open_pool(url: str) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=4, kwargs=CONNECTION_KWARGS, open=False
    )
    await pool.open(wait=True, timeout=15)
    return pool


@pytest_asyncio.fixture(
    params=[
        pytest.param(b, marks=pytest.mark.integration) if b == "postgres" else b for b in BACKENDS
    ]
)
async def store(
    request: pytest.FixtureRequest, embeddings: ChimeraEmbeddings
) -> AsyncIterator[BaseStore]:
    """An empty store of each backend."""
    backend = request.param
    if backend == "memory":
        yield in_memory_store(embeddings)
    elif backend == "postgres":
        pool = await _open_pool(request.getfixturevalue("store_database_url"))
        try:
            pg_store = await open_postgres_store(pool, embeddings)
            async with pool.connection() as conn:
                await conn.execute("TRUNCATE store CASCADE")
            yield pg_store
        finally:
            await pool.close()
    else:
        if backend == "weaviate-fake":
            url = request.getfixturevalue("fake_weaviate").url
        else:
            url = os.environ["WEAVIATE_URL"]
        prefix = "ChimeraTest" + secrets.token_hex(4)
        wv_store = await asyncio.to_thread(
            WeaviateStore.from_url, url, embeddings=embeddings, collection_prefix=prefix
        )
        try:
            yield wv_store
        finally:
            await asyncio.to_thread(wv_store.drop)
            wv_store.close()


def keys(items: list[SearchItem]) -> list[str]:
    return [i.key for i in items]


# -- the contract ----------------------------------------------------------------------------


async def test_put_get_overwrite_delete(store: BaseStore) -> None:
    facts = ns.facts("ava")
    await store.aput(facts, "origin", {"text": "grew up in Lisbon", "since": 2019})
    first = await store.aget(facts, "origin")
    assert isinstance(first, Item)
    assert (first.namespace, first.key) == (facts, "origin")
    assert first.value == {"text": "grew up in Lisbon", "since": 2019}
    assert first.created_at <= first.updated_at

    await store.aput(facts, "origin", {"text": "grew up in Porto", "tags": ["north", "sea"]})
    second = await store.aget(facts, "origin")
    assert second is not None
    assert second.value == {"text": "grew up in Porto", "tags": ["north", "sea"]}
    assert second.updated_at >= first.updated_at
    assert second.created_at <= second.updated_at

    await store.adelete(facts, "origin")
    assert await store.aget(facts, "origin") is None
    await store.adelete(facts, "origin")  # deleting a missing item is fine
    assert await store.aget(facts, "never-written") is None
    assert await store.aget(ns.facts("nobody"), "origin") is None


async def test_search_by_namespace_prefix(store: BaseStore) -> None:
    await store.aput(ns.facts("ava"), "f1", {"text": "likes hiking"})
    await store.aput(ns.posts("ava"), "p1", {"text": "my first post"})
    await store.aput(ns.facts("ben"), "f2", {"text": "likes chess"})
    await store.aput(ns.POLICIES, "r1", {"text": "no medical advice"})

    ava = await store.asearch(("personas", "ava"))
    assert sorted((i.namespace, i.key) for i in ava) == [
        (ns.facts("ava"), "f1"),
        (ns.posts("ava"), "p1"),
    ]
    assert all(i.score is None for i in ava)
    assert sorted(keys(await store.asearch(("personas",)))) == ["f1", "f2", "p1"]
    assert keys(await store.asearch(ns.facts("ava"))) == ["f1"]
    assert await store.asearch(("personas", "nobody")) == []


async def test_filters(store: BaseStore) -> None:
    posts = ns.posts("ava")
    await store.aput(posts, "a", {"text": DENIM, "kind": "post", "likes": 3})
    await store.aput(posts, "b", {"text": SOUP, "kind": "post", "likes": 7})
    await store.aput(posts, "c", {"text": LAPTOP, "kind": "draft", "likes": 9})

    async def found(flt: dict[str, Any], query: str | None = None) -> set[str]:
        return set(keys(await store.asearch(posts, filter=flt, query=query)))

    assert await found({"kind": "post"}) == {"a", "b"}
    assert await found({"kind": {"$eq": "draft"}}) == {"c"}
    assert await found({"kind": {"$ne": "post"}}) == {"c"}
    assert await found({"likes": 7}) == {"b"}
    assert await found({"likes": {"$gt": 5}}) == {"b", "c"}
    assert await found({"likes": {"$gte": 7, "$lt": 9}}) == {"b"}
    assert await found({"kind": "post", "likes": {"$lte": 3}}) == {"a"}
    assert await found({"kind": "missing"}) == set()
    assert await found({"kind": "post"}, query=QUERY) == {"a", "b"}


async def test_vector_search_ranks_closest_text_first(store: BaseStore) -> None:
    posts = ns.posts("ava")
    for key, text in (("soup", SOUP), ("laptop", LAPTOP), ("denim", DENIM)):
        await store.aput(posts, key, {"text": text})
    results = await store.asearch(posts, query=QUERY)
    assert keys(results)[0] == "denim"
    scores = [r.score for r in results]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    by_key = {r.key: r.score for r in results}
    assert by_key["denim"] > by_key["soup"]  # type: ignore[operator]


async def test_unindexed_items_are_stored_but_not_ranked(store: BaseStore) -> None:
    posts = ns.posts("ava")
    await store.aput(posts, "hidden", {"text": DENIM, "tag": "x"}, index=False)
    await store.aput(posts, "soup", {"text": SOUP, "tag": "x"})
    await store.aput(posts, "laptop", {"text": LAPTOP, "tag": "y"})

    hidden = await store.aget(posts, "hidden")
    assert hidden is not None and hidden.value["text"] == DENIM
    assert set(keys(await store.asearch(posts, filter={"tag": "x"}))) == {"hidden", "soup"}

    ranked = await store.asearch(posts, query=QUERY)
    assert ranked and ranked[0].key != "hidden"
    # Some backends leave the unranked item out, the in-memory one appends it unscored.
    for position, item in enumerate(ranked):
        if item.key == "hidden":
            assert item.score is None
            assert all(later.score is None for later in ranked[position:])
        else:
            assert item.score is not None


async def test_list_namespaces(store: BaseStore) -> None:
    for namespace in (ns.facts("ava"), ns.posts("ava"), ns.facts("ben"), ns.POLICIES):
        await store.aput(namespace, "k", {"text": "something"})

    assert await store.alist_namespaces() == [
        ("personas", "ava", "facts"),
        ("personas", "ava", "posts"),
        ("personas", "ben", "facts"),
        ("policies", "rules"),
    ]
    assert await store.alist_namespaces(prefix=("personas", "ava")) == [
        ("personas", "ava", "facts"),
        ("personas", "ava", "posts"),
    ]
    assert await store.alist_namespaces(suffix=("facts",)) == [
        ("personas", "ava", "facts"),
        ("personas", "ben", "facts"),
    ]
    assert await store.alist_namespaces(prefix=("personas",), max_depth=2) == [
        ("personas", "ava"),
        ("personas", "ben"),
    ]
    assert await store.alist_namespaces(max_depth=1) == [("personas",), ("policies",)]
    assert await store.alist_namespaces(limit=2, offset=1) == [
        ("personas", "ava", "posts"),
        ("personas", "ben", "facts"),
    ]


async def test_limit_and_offset(store: BaseStore) -> None:
    posts = ns.posts("ava")
    texts = {
        "denim": DENIM,
        "soup": SOUP,
        "laptop": LAPTOP,
        "jacket": "patching the elbow of an old wool jacket",
        "plants": "watering plants while on holiday",
    }
    for key, text in texts.items():
        await store.aput(posts, key, {"text": text})

    pages = [keys(await store.asearch(posts, limit=2, offset=o)) for o in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert sorted(k for page in pages for k in page) == sorted(texts)

    ranking = keys(await store.asearch(posts, query=QUERY, limit=5))
    assert len(ranking) == 5
    assert keys(await store.asearch(posts, query=QUERY, limit=2, offset=1)) == ranking[1:3]
    assert keys(await store.asearch(posts, query=QUERY, limit=1)) == ranking[:1]


async def test_personas_are_isolated(store: BaseStore) -> None:
    await store.aput(ns.facts("ava"), "secret", {"text": DENIM, "owner": "ava"})
    await store.aput(ns.facts("ben"), "secret", {"text": SOUP, "owner": "ben"})
    await store.aput(ns.facts("ben"), "other", {"text": LAPTOP, "owner": "ben"})

    for prefix in (ns.facts("ben"), ("personas", "ben")):
        for query in (None, QUERY):
            found = await store.asearch(prefix, query=query)
            assert {i.value["owner"] for i in found} == {"ben"}, (prefix, query)
    ben = await store.aget(ns.facts("ben"), "secret")
    assert ben is not None and ben.value["owner"] == "ben"

    await store.adelete(ns.facts("ben"), "secret")
    ava = await store.aget(ns.facts("ava"), "secret")
    assert ava is not None and ava.value["owner"] == "ava"


async def test_sync_api(store: BaseStore) -> None:
    """The synchronous API, called from a worker thread as sync graph nodes do."""

    def work() -> tuple[Item | None, list[SearchItem], list[tuple[str, ...]]]:
        store.put(ns.summaries("ava"), "w1", {"text": DENIM})
        store.put(ns.summaries("ava"), "w2", {"text": SOUP})
        return (
            store.get(ns.summaries("ava"), "w1"),
            store.search(ns.summaries("ava"), query=QUERY),
            store.list_namespaces(prefix=("personas",)),
        )

    item, results, namespaces = await asyncio.to_thread(work)
    assert item is not None and item.value == {"text": DENIM}
    assert keys(results)[0] == "w1"
    assert namespaces == [ns.summaries("ava")]


# -- backend specifics -----------------------------------------------------------------------


async def test_postgres_without_pgvector_is_refused(external_server: str) -> None:
    name = f"chimera_nopgvector_{secrets.token_hex(4)}"
    pool = await _open_pool(ensure_database(external_server, name))
    try:
        with pytest.raises(ConfigError, match="pgvector"):
            await open_postgres_store(pool)
    finally:
        await pool.close()
        _drop_database(external_server, name)


def test_weaviate_layout(fake_weaviate: FakeWeaviate, embeddings: ChimeraEmbeddings) -> None:
    """One collection per namespace, objects keyed by (namespace, key), filters on the server."""
    prefix = "ChimeraLayout" + secrets.token_hex(3)
    with WeaviateStore.from_url(
        fake_weaviate.url, embeddings=embeddings, collection_prefix=prefix
    ) as store:
        try:
            store.put(ns.facts("ava"), "k", {"text": DENIM, "kind": "fact"})
            store.put(("personas", "ava!", "facts"), "k", {"text": SOUP, "kind": "fact"})
            names = {n for n in fake_weaviate.collections if n.startswith(prefix)}
            assert names == {
                collection_name(ns.facts("ava"), prefix),
                collection_name(("personas", "ava!", "facts"), prefix),
            }
            assert len({n.rsplit("_", 1)[0] for n in names}) == 1  # same slug, hashes differ
            stored = fake_weaviate.collections[collection_name(ns.facts("ava"), prefix)]
            (obj,) = stored.objects.values()
            assert obj.properties["namespace"] == '["personas","ava","facts"]'
            assert set(obj.vectors) == {"default"} and len(obj.vectors["default"]) == 384

            before = len(fake_weaviate.grpc_requests)
            assert len(store.search(("personas",), filter={"kind": "fact"})) == 2
            searches = [r for n, r in fake_weaviate.grpc_requests[before:] if n == "Search"]
            assert searches and all(
                r.filters.target.property == "facets"
                and list(r.filters.value_text_array.values) == ['["kind","fact"]']
                for r in searches
            )
        finally:
            store.drop()
        assert not any(n.startswith(prefix) for n in fake_weaviate.collections)


def test_weaviate_url_parsing() -> None:
    assert parse_url("weaviate://db:8080?grpc_port=50052") == {
        "http_host": "db",
        "http_port": 8080,
        "http_secure": False,
        "grpc_host": "db",
        "grpc_port": 50052,
        "grpc_secure": False,
    }
    assert parse_url("weaviates://cloud.example")["grpc_port"] == 443
    for bad in ("http://db:8080", "weaviate://db:8080?grcp_port=1", "weaviate://"):
        with pytest.raises(ConfigError):
            parse_url(bad)


def test_fake_weaviate_refuses_what_it_does_not_implement(
    fake_weaviate: FakeWeaviate, embeddings: ChimeraEmbeddings
) -> None:
    from weaviate.classes.query import Filter
    from weaviate.exceptions import WeaviateQueryError

    prefix = "ChimeraRefuse" + secrets.token_hex(3)
    with WeaviateStore.from_url(
        fake_weaviate.url, embeddings=embeddings, collection_prefix=prefix
    ) as store:
        try:
            store.put(ns.facts("ava"), "k", {"text": DENIM})
            collection = store.client.collections.use(collection_name(ns.facts("ava"), prefix))
            with pytest.raises(WeaviateQueryError, match="does not implement"):
                collection.query.bm25("denim")
            with pytest.raises(WeaviateQueryError, match="requires inverted index"):
                collection.query.fetch_objects(filters=Filter.by_property("value").equal("x"))
        finally:
            store.drop()
