"""Long-term memory search at scale: latency and recall@10 of the real PostgresStore.

Target: ``store.asearch`` over one persona's memories answers in p95 <= 20 ms at
100,000 memories, with recall@10 >= 0.95 against exact search.

What it does, for each size N (``--sizes``):

1. Starts its own embedded PostgreSQL in a fresh temporary folder (stopped and removed
   at the end) and creates one database per size.
2. Opens the store exactly as Chimera does (``open_postgres_store``: pgvector, HNSW
   m=16 ef_construction=64, cosine, 384 dims, field ``text``) and loads N memories into
   persona ``ava``'s namespaces (``personas/ava/{posts,facts,interactions}``) plus N/10
   into three other personas and a few policy rules, through ``store.abatch`` with
   ``PutOp`` chunks: the store's own write path, with the HNSW index maintained on
   every insert. Texts are synthetic (``benchmarks/corpus.py``), embedded once with
   Chimera's embedder; the store is handed those vectors through a lookup, so the load
   time is the database's, and the embedding throughput is reported on its own. Then
   ``ANALYZE``, as autovacuum would do shortly after such a load.
3. Searches ``("personas", "ava")`` with Q queries through ``store.asearch(prefix,
   query=..., limit=10)``, one at a time, and reports p50/p95/p99 latency twice:
   ``db`` with the query vectors precomputed (the store, the SQL and PostgreSQL), and
   ``end_to_end`` with the store embedding each query itself (what a node waits for).
4. recall@10: the share of the exact top 10 (brute force in numpy over the stored
   vectors of the persona's namespaces) that the store returned, averaged over queries.
   A sample of queries also runs through the store on connections with
   ``SET enable_indexscan = off`` (PostgreSQL's own exact sequential scan), to check the
   numpy truth against it and to time exact search.
5. The same for a small namespace (persona ``ben``, N/30 memories, about 3% of the
   rows) and for the policy rules (50 rows), and again for every entry of
   ``--settings``: parameters the search connections ``SET`` (``hnsw.ef_search``,
   default 40; ``hnsw.iterative_scan``, default off), either by the pool's ``configure``
   callback (``pool:``) or by the store itself before each search (``store:``, the
   change proposed for ``chimera/memory/store.py``). The query plan (EXPLAIN ANALYZE of
   the store's own SQL, on a connection with the same settings) tells whether the HNSW
   index was used.

Run from the project root::

    uv run python -m benchmarks.memory_search [--sizes 10000 100000] [--queries 200] [--json]
        [--settings default store:hnsw.iterative_scan=relaxed_order,hnsw.ef_search=100 ...]
        [--cache-dir DIR]  # keeps the corpus vectors: a rerun skips the embedding

Results go to stdout (a table, or JSON with ``--json``) and to
``benchmarks/results/memory_search-<timestamp>.json`` (git ignores that folder).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from benchmarks import corpus
from benchmarks.report import publish

PERSONA = "ava"
OTHER_PERSONAS = ("ben", "cleo", "dev")
SMALL_PERSONA = OTHER_PERSONAS[0]
# What the searches cover: the persona (~91% of the rows), a persona with N/30 memories
# (~3%), and the policy rules (50 rows).
SCOPES: list[tuple[str, tuple[str, ...]]] = [
    ("persona", ("personas", PERSONA)),
    ("small", ("personas", SMALL_PERSONA)),
    ("policies", ("policies",)),
]
OTHER_SHARE = 0.10  # memories of the other personas, relative to N
POLICY_RULES = 50
LOAD_CHUNK = 500
WARMUP_QUERIES = 20
DEFAULT_SETTINGS = [
    "default",
    "pool:hnsw.ef_search=100",
    "pool:hnsw.iterative_scan=relaxed_order",
    "store:hnsw.iterative_scan=relaxed_order,hnsw.ef_search=100",
]
K = 10

Namespace = tuple[str, ...]
_VECTOR_LITERAL = re.compile(r"'\[[^\]]*\]'::vector")


# -- data -------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """The memories to load: namespace, key and text of each, and their vectors."""

    namespaces: list[Namespace]
    keys: list[str]
    texts: list[str]
    vectors: np.ndarray  # (len(texts), 384) float32, L2-normalised

    def __len__(self) -> int:
        return len(self.keys)

    def head(self, n_persona: int, n_other: int) -> Dataset:
        """The first ``n_persona`` memories of the persona and ``n_other`` of the others."""
        idx = [i for i, ns in enumerate(self.namespaces) if ns[:2] == ("personas", PERSONA)]
        rest = [i for i, ns in enumerate(self.namespaces) if ns[:2] != ("personas", PERSONA)]
        policies = [i for i in rest if self.namespaces[i][0] == "policies"]
        others = [i for i in rest if self.namespaces[i][0] != "policies"]
        pick = sorted(idx[:n_persona] + others[:n_other] + policies)
        return Dataset(
            [self.namespaces[i] for i in pick],
            [self.keys[i] for i in pick],
            [self.texts[i] for i in pick],
            self.vectors[pick],
        )

    def under(self, prefix: Namespace) -> np.ndarray:
        """Row numbers of the memories in namespace ``prefix`` or below it."""
        n = len(prefix)
        return np.array([i for i, ns in enumerate(self.namespaces) if ns[:n] == prefix], int)


def make_items(n_persona: int, n_other: int, seed: int = 0) -> list[tuple[Namespace, str, str]]:
    """``(namespace, key, text)`` of the persona's memories, the others' and policy rules."""
    items: list[tuple[Namespace, str, str]] = []
    for i, (kind, text) in enumerate(corpus.memories(n_persona, seed=seed)):
        items.append((("personas", PERSONA, kind), f"{kind}-{i:07d}", text))
    for i, (kind, text) in enumerate(corpus.memories(n_other, seed=seed + 1)):
        persona = OTHER_PERSONAS[i % len(OTHER_PERSONAS)]
        items.append((("personas", persona, kind), f"{kind}-{i:07d}", text))
    for i, (_, text) in enumerate(corpus.memories(POLICY_RULES, seed=seed + 2)):
        items.append((("policies", "rules"), f"rule-{i:04d}", f"Never post like this: {text}"))
    return items


def embed_all(
    texts: Sequence[str], cache_dir: Path | None, embed: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vectors of ``texts`` (from ``cache_dir`` when embedded before) and how fast they came."""
    digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"vectors-{len(texts)}-{digest}.npy" if cache_dir else None
    if path is not None and path.exists():
        return np.load(path), {"texts": len(texts), "cached": True}
    began = time.perf_counter()
    vectors = embed(list(texts))
    seconds = time.perf_counter() - began
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    stats = {
        "texts": len(texts),
        "cached": False,
        "seconds": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds, 1),
        "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1),
    }
    return vectors, stats


def build_dataset(
    n_persona: int,
    n_other: int,
    cache_dir: Path | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    seed: int = 0,
) -> tuple[Dataset, dict[str, Any]]:
    items = make_items(n_persona, n_other, seed)
    texts = [t for _, _, t in items]
    vectors, stats = embed_all(texts, cache_dir, embed or _default_embed)
    dataset = Dataset([ns for ns, _, _ in items], [k for _, k, _ in items], texts, vectors)
    return dataset, stats


def _default_embed(texts: list[str]) -> np.ndarray:
    from chimera.adapters.embeddings import get_embedder

    return get_embedder().embed(texts)


class VectorLookup(Embeddings):
    """Embeddings that return precomputed vectors for known texts (the rest are embedded).

    Hands the store the vectors computed once for the corpus, so that loading and the
    ``db`` latency measure the database and not the model.
    """

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._rows = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors
        self.misses = 0

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        base = len(self._vectors)
        self._vectors = np.concatenate([self._vectors, vectors])
        for i, t in enumerate(texts):
            self._rows[t] = base + i

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self._rows]
        if missing:
            self.misses += len(missing)
            self.add(missing, _default_embed(missing))
        return [self._vectors[self._rows[t]].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)  # a dict lookup: no thread hop

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


# -- measures ---------------------------------------------------------------------------------


def exact_top_k(vectors: np.ndarray, query_vectors: np.ndarray, k: int = K) -> np.ndarray:
    """Row numbers of the ``k`` nearest ``vectors`` by cosine for each query, nearest first."""
    sims = query_vectors @ vectors.T  # rows are unit vectors: cosine = dot product
    k = min(k, vectors.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(
    found: Sequence[Sequence[Any]], truth: Sequence[Sequence[Any]], k: int = K
) -> float:
    """Mean over queries of |found[:k] ∩ truth[:k]| / |truth[:k]| (missing results count)."""
    if len(found) != len(truth):
        raise ValueError("found and truth must have one entry per query")
    scores = []
    for got, want in zip(found, truth, strict=True):
        want_k = set(list(want)[:k])
        if not want_k:
            continue
        scores.append(len(set(list(got)[:k]) & want_k) / len(want_k))
    return float(np.mean(scores)) if scores else 1.0


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds, float) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
    }


# -- the store --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_pool(uri: str, settings: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """A pool like Chimera's (same connection kwargs), each connection ``SET`` ``settings``."""
    from psycopg_pool import AsyncConnectionPool

    from chimera.adapters.postgres.database import CONNECTION_KWARGS

    async def configure(conn: Any) -> None:
        for name, value in (settings or {}).items():
            await conn.execute("SELECT set_config(%s, %s, false)", (name, str(value)))

    pool: Any = AsyncConnectionPool(
        uri,
        min_size=1,
        max_size=2,
        kwargs=CONNECTION_KWARGS,
        configure=configure if settings else None,
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    try:
        yield pool
    finally:
        await pool.close()


async def open_store(
    pool: Any, embeddings: Embeddings, settings: Sequence[tuple[str, str]] = ()
) -> Any:
    """Chimera's store (``open_postgres_store``), or a :class:`SettingStore` if ``settings``."""
    from chimera.adapters.memory.postgres import open_postgres_store, postgres_index_config

    if not settings:
        return await open_postgres_store(pool, embeddings)
    store = setting_store_class(settings)(pool, index=postgres_index_config(embeddings))
    await store.setup()
    return store


def setting_store_class(settings: Sequence[tuple[str, str]]) -> type:
    """An ``AsyncPostgresStore`` that ``SET``s ``settings`` before its searches.

    The change proposed for ``chimera/memory/store.py``, measured as it would run there:
    the ``SET`` statements go down the store's own pipelined cursor, just ahead of the
    search SQL, on whatever connection the pool hands out.
    """
    from langgraph.store.postgres.aio import AsyncPostgresStore

    statements = [f"SET {name} = {value}" for name, value in settings]

    class SettingStore(AsyncPostgresStore):
        async def _batch_search_ops(self, search_ops: Any, results: Any, cur: Any) -> None:
            for statement in statements:
                await cur.execute(statement)
            await super()._batch_search_ops(search_ops, results, cur)

    return SettingStore


async def load(store: Any, dataset: Dataset, chunk: int = LOAD_CHUNK) -> float:
    """Put every memory through ``store.abatch``; returns the seconds it took."""
    from langgraph.store.base import PutOp

    began = time.perf_counter()
    for start in range(0, len(dataset), chunk):
        ops = [
            PutOp(dataset.namespaces[i], dataset.keys[i], {"text": dataset.texts[i]})
            for i in range(start, min(start + chunk, len(dataset)))
        ]
        await store.abatch(ops)
    return time.perf_counter() - began


async def analyze(pool: Any) -> None:
    async with pool.connection() as conn:
        await conn.execute("ANALYZE store")
        await conn.execute("ANALYZE store_vectors")


async def timed_searches(
    store: Any, prefix: Namespace, queries: Sequence[str], k: int = K
) -> tuple[list[float], list[list[tuple[Namespace, str]]]]:
    """Latency of each ``store.asearch`` and the (namespace, key) of its results."""
    seconds: list[float] = []
    found: list[list[tuple[Namespace, str]]] = []
    for query in queries:
        began = time.perf_counter()
        items = await store.asearch(prefix, query=query, limit=k)
        seconds.append(time.perf_counter() - began)
        found.append([(tuple(item.namespace), item.key) for item in items])
    return seconds, found


async def explain(
    pool: Any,
    store: Any,
    prefix: Namespace,
    vector: list[float],
    settings: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the store's own search SQL: which plan, and is HNSW in it."""
    from langgraph.store.base import SearchOp, _ensure_refresh

    # As asearch() builds it: with no TTL config, refresh_ttl defaults to True.
    op = SearchOp(prefix, None, K, 0, "explain", refresh_ttl=_ensure_refresh(store.ttl_config))
    queries, _ = store._prepare_batch_search_queries([(0, op)])
    sql, params = queries[0]
    params = [vector if not isinstance(p, (str, int, float, type(None))) else p for p in params]
    async with pool.connection() as conn:
        for name, value in settings:
            await conn.execute(f"SET {name} = {value}")
        cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        lines = [next(iter(row.values())) for row in await cur.fetchall()]
    return {
        "hnsw_used": any("store_vectors_embedding_idx" in line for line in lines),
        "plan": [_VECTOR_LITERAL.sub("'[...]'::vector", line) for line in lines],
    }


@dataclass
class SizeResult:
    n_persona: int
    n_total: int
    load_seconds: float
    configs: list[dict[str, Any]] = field(default_factory=list)
    exact_sql: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_persona": self.n_persona,
            "n_total": self.n_total,
            "load_seconds": round(self.load_seconds, 2),
            "load_rows_per_s": round(self.n_total / self.load_seconds, 1),
            "configs": self.configs,
            "exact_sql": self.exact_sql,
        }


@dataclass(frozen=True)
class SearchSettings:
    """Parameters the search connections ``SET``, and who sets them.

    ``via="pool"``: the pool's ``configure`` callback, once per new connection.
    ``via="store"``: the store, on its cursor before each search
    (:class:`SettingStore`, the change proposed for ``chimera/memory/store.py``).
    """

    values: tuple[tuple[str, str], ...] = ()
    via: str = "pool"

    @property
    def label(self) -> str:
        if not self.values:
            return "default"
        text = " ".join(f"{name.removeprefix('hnsw.')}={value}" for name, value in self.values)
        return f"{self.via}: {text}"


_SETTING_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")
_SETTING_VALUE = re.compile(r"^[A-Za-z0-9_.]+$")


def parse_settings(spec: str) -> SearchSettings:
    """``default``, or ``[pool:|store:]name=value[,name=value]``; ``pool`` unless said."""
    spec = spec.strip()
    if spec in ("", "default"):
        return SearchSettings()
    via, _, body = spec.rpartition(":")
    via = via or "pool"
    pairs = [tuple(part.strip() for part in item.split("=", 1)) for item in body.split(",")]
    if (
        via not in ("pool", "store")
        or any(len(pair) != 2 for pair in pairs)
        or not all(_SETTING_NAME.match(p[0]) and _SETTING_VALUE.match(p[1]) for p in pairs)
    ):
        raise ValueError(f"settings must be 'default' or [pool:|store:]name=value,...: {spec!r}")
    return SearchSettings(tuple((name, value) for name, value in pairs), via)


async def run_size(
    server_uri: str,
    dataset: Dataset,
    queries: Sequence[str],
    query_vectors: np.ndarray,
    *,
    settings: Sequence[SearchSettings] = (SearchSettings(),),
    exact_sql_queries: int = 50,
    end_to_end: bool = True,
    keep_database: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> SizeResult:
    """Load ``dataset`` into a fresh database on ``server_uri`` and measure the searches.

    Each entry of ``settings`` is measured on the three :data:`SCOPES`.
    """
    from chimera.adapters.embedded_postgres.uris import ensure_database
    from chimera.adapters.embeddings import ChimeraEmbeddings

    persona_prefix = SCOPES[0][1]
    n_persona = len(dataset.under(persona_prefix))
    name = f"bench_memory_{n_persona}_{secrets.token_hex(3)}"
    uri = ensure_database(server_uri, name)
    lookup = VectorLookup(dataset.texts, dataset.vectors)
    lookup.add(list(queries), query_vectors)
    truths = {}
    for _, prefix in SCOPES:
        rows = dataset.under(prefix)
        top = exact_top_k(dataset.vectors[rows], query_vectors) if len(rows) else None
        truths[prefix] = [
            [(dataset.namespaces[rows[j]], dataset.keys[rows[j]]) for j in row]
            for row in (top if top is not None else [[] for _ in queries])
        ]
    try:
        async with open_pool(uri) as pool:
            store = await open_store(pool, lookup)
            log(f"loading {len(dataset)} memories ({n_persona} in {'/'.join(persona_prefix)})")
            load_seconds = await load(store, dataset)
            await analyze(pool)
            log(f"loaded in {load_seconds:.1f}s")
        result = SizeResult(n_persona, len(dataset), load_seconds)

        for setting in settings:
            pool_settings = dict(setting.values) if setting.via == "pool" else None
            store_settings = setting.values if setting.via == "store" else ()
            async with open_pool(uri, pool_settings) as pool:
                store = await open_store(pool, lookup, store_settings)
                await timed_searches(store, persona_prefix, queries[:WARMUP_QUERIES])
                for scope, prefix in SCOPES:
                    seconds, found = await timed_searches(store, prefix, queries)
                    config: dict[str, Any] = {
                        "settings": setting.label,
                        "scope": scope,
                        "namespace": "/".join(prefix),
                        "scope_memories": len(dataset.under(prefix)),
                        "recall_at_10": round(recall_at_k(found, truths[prefix]), 4),
                        "short_results": sum(
                            len(f) < min(K, len(t))
                            for f, t in zip(found, truths[prefix], strict=True)
                        ),
                        "db": percentiles_ms(seconds),
                    }
                    plan = await explain(
                        pool, store, prefix, query_vectors[0].tolist(), store_settings
                    )
                    config["hnsw_used"] = plan["hnsw_used"]
                    config["plan"] = plan["plan"]
                    if end_to_end and scope == "persona":
                        real = await open_store(pool, ChimeraEmbeddings(), store_settings)
                        await timed_searches(real, prefix, queries[:5])  # model loaded
                        seconds, _ = await timed_searches(real, prefix, queries)
                        config["end_to_end"] = percentiles_ms(seconds)
                    result.configs.append(config)
                    log(
                        f"[{config['settings']}] {config['namespace']} "
                        f"({config['scope_memories']}): recall@10={config['recall_at_10']} "
                        f"short={config['short_results']} db p50={config['db']['p50_ms']}ms "
                        f"p95={config['db']['p95_ms']}ms hnsw={config['hnsw_used']}"
                        + (
                            f" e2e p95={config['end_to_end']['p95_ms']}ms"
                            if "end_to_end" in config
                            else ""
                        )
                    )

        if exact_sql_queries:
            sample = list(queries[:exact_sql_queries])
            async with open_pool(uri, {"enable_indexscan": "off"}) as pool:
                store = await open_store(pool, lookup)
                seconds, found = await timed_searches(store, persona_prefix, sample)
                plan = await explain(pool, store, persona_prefix, query_vectors[0].tolist())
            result.exact_sql = {
                "queries": len(sample),
                "recall_vs_numpy": round(
                    recall_at_k(found, truths[persona_prefix][: len(sample)]), 4
                ),
                "hnsw_used": plan["hnsw_used"],
                "db": percentiles_ms(seconds),
            }
            log(f"exact (seq scan): {result.exact_sql}")
        return result
    finally:
        if not keep_database:
            _drop_database(server_uri, name)


def _drop_database(server_uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- command line -----------------------------------------------------------------------------


def _temp_root() -> str | None:
    # Not under a home folder: running as root, embedded-postgres opens every parent of its
    # data folder to its system user.
    return "/tmp" if os.path.isdir("/tmp") else None


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from chimera.adapters.embedded_postgres.server import EmbeddedPostgres
    from chimera.adapters.embeddings import MODEL_ID, get_embedder

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    sizes = sorted(args.sizes)
    home = Path(tempfile.mkdtemp(prefix="chimera-bench-", dir=_temp_root()))
    cache_dir = Path(args.cache_dir) if args.cache_dir else home / "vectors"
    settings = [parse_settings(spec) for spec in args.settings]
    report: dict[str, Any] = {
        "benchmark": "memory_search",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "model": MODEL_ID,
        "index": "hnsw m=16 ef_construction=64, cosine, 384 dims",
        "queries": args.queries,
        "sizes": [],
    }
    server = EmbeddedPostgres(home)
    try:
        began = time.perf_counter()
        embedder = get_embedder().load()
        report["model_load_seconds"] = round(time.perf_counter() - began, 2)
        n_max = sizes[-1]
        log(f"embedding {n_max} + {int(n_max * OTHER_SHARE)} memories (cache: {cache_dir})")
        full, stats = build_dataset(
            n_max, int(n_max * OTHER_SHARE), cache_dir=cache_dir, embed=embedder.embed
        )
        report["embedding"] = stats
        log(f"embedding: {stats}")
        queries = corpus.queries(args.queries)
        query_vectors = embedder.embed(queries)
        single = []
        for q in queries[:50]:
            t = time.perf_counter()
            embedder.embed_one(q)
            single.append(time.perf_counter() - t)
        report["query_embedding"] = percentiles_ms(single)

        began = time.perf_counter()
        server_uri = server.start()
        report["server_start_seconds"] = round(time.perf_counter() - began, 2)
        async with open_pool(server_uri) as pool, pool.connection() as conn:
            cur = await conn.execute(
                "SELECT version() AS pg, (SELECT default_version FROM pg_available_extensions "
                "WHERE name = 'vector') AS pgvector, current_setting('shared_buffers') AS sb"
            )
            row = await cur.fetchone()
            report["server"] = {
                "postgres": row["pg"].split(" on ")[0],
                "pgvector": row["pgvector"],
                "shared_buffers": row["sb"],
            }
        for n in sizes:
            dataset = full.head(n, int(n * OTHER_SHARE))
            result = await run_size(
                server_uri,
                dataset,
                queries,
                query_vectors,
                settings=settings,
                exact_sql_queries=args.exact_sql_queries,
                log=log,
            )
            report["sizes"].append(result.as_dict())
    finally:
        server.stop()
        if not args.cache_dir:
            shutil.rmtree(home, ignore_errors=True)
        else:
            shutil.rmtree(home / "pgdata", ignore_errors=True)
            shutil.rmtree(home / "run", ignore_errors=True)
            with contextlib.suppress(OSError):
                home.rmdir()
    return report


def render(report: dict[str, Any]) -> str:
    emb = report.get("embedding", {})
    server = report.get("server", {})
    lines = [
        f"memory_search {report['date']} ({report['cpus']} CPUs, {report['queries']} queries, "
        f"{server.get('postgres', '?')}, pgvector {server.get('pgvector', '?')})",
        f"embedding: {emb.get('texts')} texts"
        + (
            f" at {emb['texts_per_s']}/s ({emb['seconds']}s)"
            if not emb.get("cached")
            else " (vectors from the cache)"
        )
        + f"; one query: p50 {report['query_embedding']['p50_ms']} ms, "
        f"p95 {report['query_embedding']['p95_ms']} ms",
    ]
    for size in report["sizes"]:
        lines += [
            "",
            f"{size['n_persona']} memories of personas/{PERSONA}, {size['n_total']} in all: "
            f"loaded in {size['load_seconds']} s ({size['load_rows_per_s']} rows/s)",
            f"  {'settings':<52} {'namespace':<15} {'rows':>6} {'recall':>6} {'short':>5} "
            f"{'p50':>6} {'p95':>6} {'p99':>6} {'e2e p50':>7} {'e2e p95':>7} hnsw",
        ]
        for c in size["configs"]:
            e2e = c.get("end_to_end", {})
            lines.append(
                f"  {c['settings']:<52} {c['namespace']:<15} {c['scope_memories']:>6} "
                f"{c['recall_at_10']:>6.3f} {c['short_results']:>5} {c['db']['p50_ms']:>6.2f} "
                f"{c['db']['p95_ms']:>6.2f} {c['db']['p99_ms']:>6.2f} "
                f"{e2e.get('p50_ms', float('nan')):>7.2f} {e2e.get('p95_ms', float('nan')):>7.2f}"
                f" {'yes' if c['hnsw_used'] else 'no'}"
            )
        ex = size.get("exact_sql")
        if ex:
            lines.append(
                f"  {'enable_indexscan=off (exact)':<52} {'personas/' + PERSONA:<15} "
                f"{'':>6} {ex['recall_vs_numpy']:>6.3f} {'':>5} {ex['db']['p50_ms']:>6.2f} "
                f"{ex['db']['p95_ms']:>6.2f} {ex['db']['p99_ms']:>6.2f}"
            )
    lines.append("recall: recall@10 against exact search; short: queries with < 10 results; ms")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=DEFAULT_SETTINGS,
        help="search settings to measure, each 'default' (the server's) or "
        "[pool:|store:]name=value[,name=value], e.g. "
        "store:hnsw.ef_search=100,hnsw.iterative_scan=relaxed_order ('pool': the pool's "
        "configure callback SETs them; 'store': the store, before each search)",
    )
    parser.add_argument("--exact-sql-queries", type=int, default=50)
    parser.add_argument(
        "--cache-dir", help="keep the corpus vectors here between runs (default: temporary)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(main_async(args))
    publish("memory_search", report, args.json, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
