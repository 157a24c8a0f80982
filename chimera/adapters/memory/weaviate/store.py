"""The Weaviate store's client I/O: LangGraph's batch operations on collections."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import weaviate
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path, tokenize_path
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    Tokenization,
    VectorDistances,
)
from weaviate.classes.data import DataObject
from weaviate.classes.init import Auth
from weaviate.classes.query import Filter, MetadataQuery, Sort
from weaviate.collections import Collection
from weaviate.collections.classes.filters import _Filters
from weaviate.exceptions import UnexpectedStatusCodeError

from chimera.adapters.embeddings import EMBEDDING_DIM, ChimeraEmbeddings
from chimera.adapters.memory.weaviate.connection import parse_url
from chimera.adapters.memory.weaviate.filters import (
    facets_of,
    matches,
    namespace_matches,
    split_filter,
)
from chimera.adapters.memory.weaviate.naming import (
    DEFAULT_PREFIX,
    DESCRIPTION_PREFIX,
    PREFIX_RE,
    Namespace,
    collection_name,
    namespace_json,
    object_uuid,
)
from chimera.domain.errors import ChimeraError, ConfigError

VECTOR_NAME = "default"
DEFAULT_FIELDS = ["text"]
# Properties read back for items; ``facets`` and ``text`` are only for the server.
_ITEM_PROPERTIES = ["key", "value", "created_at", "updated_at"]
_MIN_PAGE = 64
# Ids per by-id fetch or delete: Weaviate caps a query at 10,000 results.
_ID_CHUNK = 1000


class WeaviateStoreError(ChimeraError):
    """Weaviate refused or failed a store operation; the message quotes its reason."""


@dataclass(frozen=True)
class _Hit:
    item: SearchItem
    rank: tuple[Any, ...]


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


class WeaviateStore(BaseStore):
    """A LangGraph store on Weaviate, one collection per namespace (see the module doc)."""

    supports_ttl = False
    __slots__ = (
        "_client",
        "_collections",
        "_embeddings",
        "_fields",
        "_lock",
        "_owns_client",
        "_prefix",
        "index_config",
    )

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        *,
        embeddings: Embeddings | None = None,
        fields: list[str] | None = None,
        dims: int = EMBEDDING_DIM,
        collection_prefix: str = DEFAULT_PREFIX,
        owns_client: bool = True,
    ) -> None:
        if not PREFIX_RE.match(collection_prefix):
            raise ConfigError(
                f"bad Weaviate collection prefix {collection_prefix!r}: use an upper-case "
                "letter then letters and digits"
            )
        self._client = client
        self._embeddings: Embeddings = embeddings or ChimeraEmbeddings()
        self._fields = [(f, tokenize_path(f)) for f in (fields or DEFAULT_FIELDS)]
        self._prefix = collection_prefix
        self._owns_client = owns_client
        self._lock = threading.Lock()
        # collection name -> namespace, for collections known to exist
        self._collections: dict[str, Namespace] = {}
        self.index_config = {
            "dims": dims,
            "embed": self._embeddings,
            "fields": [f for f, _ in self._fields],
        }

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        embeddings: Embeddings | None = None,
        api_key: str | None = None,
        collection_prefix: str = DEFAULT_PREFIX,
        fields: list[str] | None = None,
    ) -> WeaviateStore:
        """Connect to ``weaviate://host:8080?grpc_port=50051`` (``weaviates://`` for TLS).

        The client's init checks are skipped (they would also ask the package index
        for the latest client version); readiness is checked over REST instead.
        """
        params = parse_url(url)
        try:
            client = weaviate.connect_to_custom(
                **params,
                auth_credentials=Auth.api_key(api_key) if api_key else None,
                skip_init_checks=True,
            )
        except Exception as exc:
            raise ConfigError(f"cannot connect to Weaviate at {url}: {exc}") from exc
        try:
            if not client.is_ready():
                raise ConfigError(f"Weaviate at {url} is not ready")
        except BaseException:
            client.close()
            raise
        return cls(
            client,
            embeddings=embeddings,
            fields=fields,
            collection_prefix=collection_prefix,
        )

    @property
    def client(self) -> weaviate.WeaviateClient:
        return self._client

    def close(self) -> None:
        """Close the client (when this store opened it)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> WeaviateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Delete every collection of this store's prefix: all its memories."""
        for name in self._list_collections():
            self._client.collections.delete(name)
        with self._lock:
            self._collections.clear()

    # -- BaseStore -----------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        gets: dict[int, GetOp] = {}
        searches: dict[int, SearchOp] = {}
        lists: dict[int, ListNamespacesOp] = {}
        puts: dict[tuple[Namespace, str], PutOp] = {}
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                gets[i] = op
            elif isinstance(op, SearchOp):
                searches[i] = op
            elif isinstance(op, ListNamespacesOp):
                lists[i] = op
            elif isinstance(op, PutOp):
                puts[(tuple(op.namespace), op.key)] = op
            else:
                raise ValueError(f"unknown store operation: {type(op).__name__}")

        if searches or lists:
            existing = self._list_collections()
        else:
            existing = self._known_or_listed(
                {tuple(op.namespace) for op in gets.values()} | {ns for ns, _ in puts}
            )
        if gets:
            self._run_gets(gets, existing, results)
        if searches:
            self._run_searches(searches, existing, results)
        for i, op in lists.items():
            results[i] = self._list_namespaces(op, existing)
        if puts:
            self._run_puts(list(puts.values()), existing)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    # -- collections ---------------------------------------------------------------------

    def _collection(self, name: str) -> Collection:
        return self._client.collections.use(name)

    def _list_collections(self) -> dict[str, Namespace]:
        """Every collection of this prefix that maps to a namespace."""
        found: dict[str, Namespace] = {}
        for name, config in self._client.collections.list_all(simple=True).items():
            if not name.startswith(self._prefix + "_"):
                continue
            namespace = self._namespace_of(name, config.description)
            if namespace is not None:
                found[name] = namespace
        with self._lock:
            self._collections = dict(found)
        return found

    def _namespace_of(self, name: str, description: str | None) -> Namespace | None:
        if not description or not description.startswith(DESCRIPTION_PREFIX):
            return None
        try:
            parts = json.loads(description[len(DESCRIPTION_PREFIX) :])
        except json.JSONDecodeError:
            return None
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            return None
        namespace = tuple(parts)
        return namespace if collection_name(namespace, self._prefix) == name else None

    def _known_or_listed(self, namespaces: set[Namespace]) -> dict[str, Namespace]:
        with self._lock:
            known = dict(self._collections)
        wanted = {collection_name(ns, self._prefix) for ns in namespaces}
        if wanted <= known.keys():
            return known
        return self._list_collections()

    def _ensure_collection(self, namespace: Namespace, existing: dict[str, Namespace]) -> str:
        name = collection_name(namespace, self._prefix)
        if name in existing:
            return name
        try:
            self._client.collections.create(
                name,
                description=DESCRIPTION_PREFIX + namespace_json(namespace),
                vector_config=Configure.Vectors.self_provided(
                    name=VECTOR_NAME,
                    vector_index_config=Configure.VectorIndex.hnsw(
                        distance_metric=VectorDistances.COSINE
                    ),
                ),
                properties=[
                    Property(
                        name="key",
                        data_type=DataType.TEXT,
                        tokenization=Tokenization.FIELD,
                        index_searchable=False,
                    ),
                    Property(
                        name="namespace",
                        data_type=DataType.TEXT,
                        tokenization=Tokenization.FIELD,
                        index_searchable=False,
                    ),
                    Property(
                        name="value",
                        data_type=DataType.TEXT,
                        index_filterable=False,
                        index_searchable=False,
                    ),
                    Property(name="text", data_type=DataType.TEXT, index_filterable=False),
                    Property(
                        name="facets",
                        data_type=DataType.TEXT_ARRAY,
                        tokenization=Tokenization.FIELD,
                        index_searchable=False,
                    ),
                    Property(name="created_at", data_type=DataType.DATE),
                    Property(name="updated_at", data_type=DataType.DATE),
                ],
            )
        except UnexpectedStatusCodeError:
            # Another writer may have created it meanwhile; anything else re-raises.
            if not self._client.collections.exists(name):
                raise
        existing[name] = namespace
        with self._lock:
            self._collections[name] = namespace
        return name

    # -- reads ---------------------------------------------------------------------------

    def _to_item(self, namespace: Namespace, props: Mapping[str, Any]) -> Item:
        return Item(
            value=json.loads(props["value"]),
            key=str(props["key"]),
            namespace=namespace,
            created_at=_as_datetime(props["created_at"]),
            updated_at=_as_datetime(props["updated_at"]),
        )

    def _fetch_by_ids(self, name: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Properties of the objects among ``ids`` that exist, by id."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = list(ids[start : start + _ID_CHUNK])
            response = self._collection(name).query.fetch_objects(
                filters=Filter.by_id().contains_any(chunk),
                limit=len(chunk),
                return_properties=_ITEM_PROPERTIES,
            )
            for obj in response.objects:
                found[str(obj.uuid)] = dict(obj.properties)
        return found

    def _run_gets(
        self, gets: dict[int, GetOp], existing: dict[str, Namespace], results: list[Result]
    ) -> None:
        by_collection: dict[str, list[int]] = defaultdict(list)
        for i, op in gets.items():
            name = collection_name(tuple(op.namespace), self._prefix)
            if name in existing:
                by_collection[name].append(i)
        for name, indices in by_collection.items():
            ids = {i: object_uuid(tuple(gets[i].namespace), gets[i].key) for i in indices}
            found = self._fetch_by_ids(name, sorted(set(ids.values())))
            for i, uid in ids.items():
                if uid in found:
                    results[i] = self._to_item(existing[name], found[uid])

    def _run_searches(
        self, searches: dict[int, SearchOp], existing: dict[str, Namespace], results: list[Result]
    ) -> None:
        queries = sorted({op.query for op in searches.values() if op.query})
        vectors = dict(
            zip(queries, (self._embeddings.embed_query(q) for q in queries), strict=True)
        )
        for i, op in searches.items():
            results[i] = self._search(op, existing, vectors.get(op.query) if op.query else None)

    def _search(
        self, op: SearchOp, existing: dict[str, Namespace], vector: list[float] | None
    ) -> list[SearchItem]:
        if op.limit <= 0:
            return []
        facets, residual = split_filter(op.filter)
        server_filter = Filter.by_property("facets").contains_all(facets) if facets else None
        need = op.offset + op.limit
        prefix = tuple(op.namespace_prefix)
        hits: list[_Hit] = []
        for name, namespace in sorted(existing.items(), key=lambda kv: kv[1]):
            if namespace[: len(prefix)] != prefix:
                continue
            hits.extend(
                self._search_collection(name, namespace, vector, server_filter, residual, need)
            )
        hits.sort(key=lambda h: h.rank)
        return [h.item for h in hits[op.offset : need]]

    def _search_collection(
        self,
        name: str,
        namespace: Namespace,
        vector: list[float] | None,
        server_filter: _Filters | None,
        residual: Sequence[tuple[str, str, Any]],
        need: int,
    ) -> list[_Hit]:
        """Up to ``need`` best hits of one collection, in rank order."""
        query = self._collection(name).query
        page = need if not residual else max(2 * need, _MIN_PAGE)
        hits: list[_Hit] = []
        offset = 0
        while len(hits) < need:
            if vector is not None:
                response = query.near_vector(
                    near_vector=vector,
                    target_vector=VECTOR_NAME,
                    filters=server_filter,
                    limit=page,
                    offset=offset,
                    return_metadata=MetadataQuery(distance=True),
                    return_properties=_ITEM_PROPERTIES,
                )
            else:
                response = query.fetch_objects(
                    filters=server_filter,
                    limit=page,
                    offset=offset,
                    sort=Sort.by_property("updated_at", ascending=False).by_property("key"),
                    return_properties=_ITEM_PROPERTIES,
                )
            for obj in response.objects:
                item = self._to_item(namespace, obj.properties)
                if residual and not matches(item.value, residual):
                    continue
                if vector is not None:
                    distance = obj.metadata.distance
                    score = 1.0 - distance if distance is not None else None
                    rank: tuple[Any, ...] = (-(score or 0.0), namespace, item.key)
                else:
                    score = None
                    rank = (-item.updated_at.timestamp(), namespace, item.key)
                hits.append(_Hit(self._search_item(item, score), rank))
            if len(response.objects) < page:
                break
            offset += page
        return hits[:need]

    @staticmethod
    def _search_item(item: Item, score: float | None) -> SearchItem:
        return SearchItem(
            namespace=item.namespace,
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
            score=score,
        )

    def _list_namespaces(
        self, op: ListNamespacesOp, existing: dict[str, Namespace]
    ) -> list[Namespace]:
        namespaces = [
            ns
            for name, ns in existing.items()
            if all(namespace_matches(c, ns) for c in op.match_conditions or ())
            and self._has_objects(name)
        ]
        if op.max_depth is not None:
            namespaces = [ns[: op.max_depth] for ns in namespaces]
        return sorted(set(namespaces))[op.offset : op.offset + op.limit]

    def _has_objects(self, name: str) -> bool:
        """Whether a collection holds anything: an emptied namespace is not listed."""
        response = self._collection(name).query.fetch_objects(limit=1, return_properties=["key"])
        return bool(response.objects)

    # -- writes --------------------------------------------------------------------------

    def _texts_to_embed(self, op: PutOp) -> str | None:
        if op.value is None or op.index is False:
            return None
        paths = self._fields if op.index is None else [(p, tokenize_path(p)) for p in op.index]
        texts: list[str] = []
        for path, tokens in paths:
            if path == "$":
                texts.append(json.dumps(dict(op.value), ensure_ascii=False))
            else:
                texts.extend(get_text_at_path(dict(op.value), tokens))
        texts = [t for t in texts if t]
        return "\n".join(texts) if texts else None

    def _run_puts(self, puts: list[PutOp], existing: dict[str, Namespace]) -> None:
        now = datetime.now(UTC)
        upserts: dict[Namespace, list[PutOp]] = defaultdict(list)
        deletes: dict[Namespace, list[PutOp]] = defaultdict(list)
        for op in puts:
            (deletes if op.value is None else upserts)[tuple(op.namespace)].append(op)

        texts = {(tuple(op.namespace), op.key): self._texts_to_embed(op) for op in puts}
        to_embed = sorted({t for t in texts.values() if t})
        vectors = dict(
            zip(
                to_embed,
                self._embeddings.embed_documents(to_embed) if to_embed else [],
                strict=True,
            )
        )

        for namespace, ops in upserts.items():
            was_there = collection_name(namespace, self._prefix) in existing
            name = self._ensure_collection(namespace, existing)
            ids = [object_uuid(namespace, op.key) for op in ops]
            before = self._fetch_by_ids(name, ids) if was_there else {}
            objects: list[DataObject[Any, None]] = []
            for op, uid in zip(ops, ids, strict=True):
                assert op.value is not None
                value = dict(op.value)
                text = texts[(namespace, op.key)]
                created = before[uid]["created_at"] if uid in before else now
                objects.append(
                    DataObject(
                        uuid=uid,
                        properties={
                            "key": op.key,
                            "namespace": namespace_json(namespace),
                            "value": json.dumps(value, ensure_ascii=False),
                            "text": text or "",
                            "facets": facets_of(value),
                            "created_at": _as_datetime(created),
                            "updated_at": now,
                        },
                        vector={VECTOR_NAME: vectors[text]} if text else None,
                    )
                )
            written = self._collection(name).data.insert_many(objects)
            if written.has_errors:
                reasons = sorted({e.message for e in written.errors.values()})
                raise WeaviateStoreError(
                    f"Weaviate refused {len(written.errors)} of {len(objects)} writes to "
                    f"{namespace}: {'; '.join(reasons)}"
                )

        for namespace, ops in deletes.items():
            name = collection_name(namespace, self._prefix)
            if name not in existing:
                continue
            ids = [object_uuid(namespace, op.key) for op in ops]
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start : start + _ID_CHUNK]
                deleted = self._collection(name).data.delete_many(
                    where=Filter.by_id().contains_any(chunk)
                )
                if deleted.failed:
                    raise WeaviateStoreError(
                        f"Weaviate failed {deleted.failed} of {len(chunk)} deletes in {namespace}"
                    )
