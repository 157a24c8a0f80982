"""A small in-process Weaviate for tests: its REST and gRPC APIs, as the real client uses them.

No Weaviate server runs on these machines (the client's embedded mode downloads a binary),
so this fake serves the part of Weaviate's API that ``WeaviateStore`` drives through the
real ``weaviate-client`` v4, on 127.0.0.1 ephemeral ports:

REST (``/v1``): ``GET /meta``; ``GET /.well-known/ready`` and ``/live``; ``GET /schema``;
``POST /schema`` (with Weaviate's defaults filled in, 422 on a bad or taken name);
``GET``/``DELETE /schema/{class}``. gRPC (``weaviate.v1.Weaviate``): ``Search``,
``BatchObjects``, ``BatchDelete``, and ``grpc.health.v1.Health/Check``.

Semantics, not canned answers: objects live in memory per collection; a batch upserts by
UUID; ``Search`` runs filters, exact (brute-force) ``near_vector`` search with the
collection's distance (cosine, dot or l2-squared) and its distance/certainty cut-offs,
``sort_by``, and limit/offset (Weaviate's default limit 10, its 10,000 result ceiling);
``BatchDelete`` runs a filter (with ``dry_run`` and ``verbose``). Filters: And, Or, Not,
Equal, NotEqual, the four comparisons, ContainsAny/All/None and IsNull, on scalar and
array properties of type text, int, number, boolean, date and uuid, and on ``_id``;
filtering a property whose ``indexFilterable`` is off fails as in Weaviate.

Not implemented, each refused with an error rather than answered wrongly: multi-tenancy,
references and object (nested) properties, legacy unnamed vectors and module
vectorisers (only self-provided named vectors), multi-vectors, text filters on
properties whose tokenisation is not ``field``, Like and geo filters, BM25, hybrid,
near_text/near_object/near_image and friends, group-by, generative, rerank, cursors
(``after``), autocut, aggregate, tenants, BatchStream, BatchReferences, REST object and
batch endpoints, auto-schema, authentication.
"""

from __future__ import annotations

import json
import re
import struct
import threading
import time
import uuid as uuid_lib
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import numpy as np
from weaviate.proto.v1 import (
    base_pb2,
    batch_delete_pb2,
    batch_pb2,
    health_weaviate_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)

VERSION = "1.33.0"
QUERY_DEFAULTS_LIMIT = 10
QUERY_MAXIMUM_RESULTS = 10_000
GRPC_MAX_MESSAGE_SIZE = 104_858_000

_CLASS_RE = re.compile(r"^[A-Z][_0-9A-Za-z]{0,254}$")
_PROPERTY_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,230}$")
_RESERVED_PROPERTIES = {"_additional", "_id", "id"}
_TEXT_TYPES = {"text", "text[]"}
_SCALAR_TYPES = {"text", "int", "number", "boolean", "date", "uuid"}
_TYPES = _SCALAR_TYPES | {t + "[]" for t in _SCALAR_TYPES}
_TOKENIZATIONS = {"word", "lowercase", "whitespace", "field", "trigram", "gse"}
_DISTANCES = {"cosine", "dot", "l2-squared"}
_HNSW_DEFAULTS: dict[str, Any] = {
    "skip": False,
    "cleanupIntervalSeconds": 300,
    "maxConnections": 32,
    "efConstruction": 128,
    "ef": -1,
    "dynamicEfMin": 100,
    "dynamicEfMax": 500,
    "dynamicEfFactor": 8,
    "vectorCacheMaxObjects": 1_000_000_000_000,
    "flatSearchCutoff": 40000,
    "distance": "cosine",
    "filterStrategy": "sweeping",
    "pq": {"enabled": False},
    "bq": {"enabled": False},
    "sq": {"enabled": False},
    "rq": {"enabled": False},
    "multivector": {"enabled": False},
}
_FLAT_DEFAULTS: dict[str, Any] = {
    "distance": "cosine",
    "vectorCacheMaxObjects": 1_000_000_000_000,
    "pq": {"enabled": False},
    "bq": {"enabled": False},
    "sq": {"enabled": False},
    "rq": {"enabled": False},
    "multivector": {"enabled": False},
}

Op = base_pb2.Filters


class FakeError(Exception):
    """A request the fake refuses: ``code`` is the gRPC status, ``http`` the REST one."""

    def __init__(
        self,
        message: str,
        code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        http: int = 422,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http = http


def _unimplemented(what: str) -> FakeError:
    return FakeError(f"fake Weaviate does not implement {what}", grpc.StatusCode.UNIMPLEMENTED, 501)


# -- storage -------------------------------------------------------------------------------


@dataclass
class _Object:
    uuid: str
    properties: dict[str, Any]
    vectors: dict[str, np.ndarray]
    created_ms: int
    updated_ms: int


@dataclass
class _Collection:
    config: dict[str, Any]
    objects: dict[str, _Object] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.config["class"])

    def prop(self, name: str) -> dict[str, Any]:
        for prop in self.config["properties"]:
            if prop["name"] == name:
                return dict(prop)
        raise FakeError(
            f"no such prop with name '{name}' found in class '{self.name}' in the schema"
        )

    def distance(self, vector_name: str) -> str:
        vectors = self.config["vectorConfig"]
        if vector_name not in vectors:
            raise FakeError(f"class {self.name} has no vector named {vector_name!r}")
        return str(vectors[vector_name]["vectorIndexConfig"]["distance"])


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _parse_date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FakeError(f"invalid date {text!r}: requires RFC3339") from exc
    if value.tzinfo is None:
        raise FakeError(f"invalid date {text!r}: requires a time zone")
    return value.astimezone(UTC)


def _format_date(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coerce(data_type: str, value: Any, prop: str) -> Any:
    """A value checked against its property type, in the fake's storage form."""
    if data_type.endswith("[]"):
        if not isinstance(value, list):
            raise FakeError(f"invalid {data_type} property '{prop}': not a list")
        return [_coerce(data_type[:-2], v, prop) for v in value]
    if data_type == "text" and isinstance(value, str):
        return value
    if data_type == "uuid" and isinstance(value, str):
        return str(uuid_lib.UUID(value))
    if data_type == "date" and isinstance(value, str):
        return _parse_date(value)
    if data_type == "boolean" and isinstance(value, bool):
        return value
    if data_type == "int" and isinstance(value, int | float) and not isinstance(value, bool):
        if float(value) != int(value):
            raise FakeError(f"invalid int property '{prop}': {value} is not an integer")
        return int(value)
    if data_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise FakeError(f"invalid {data_type} property '{prop}': {value!r}")


# -- schema --------------------------------------------------------------------------------


def _normalise_class(body: dict[str, Any]) -> dict[str, Any]:
    """A class definition as Weaviate stores it: validated, defaults filled in."""
    name = body.get("class")
    if not isinstance(name, str) or not _CLASS_RE.match(name):
        raise FakeError(f"'{name}' is not a valid class name")
    if body.get("multiTenancyConfig", {}).get("enabled"):
        raise _unimplemented("multi-tenancy")
    if "vectorConfig" not in body:
        raise _unimplemented("legacy unnamed vectors (use named vectors, vector_config=...)")
    if body.get("vectorizer") not in (None, "none"):
        raise _unimplemented("module vectorisers")
    vectors: dict[str, Any] = {}
    for vname, vconf in body["vectorConfig"].items():
        vectorizer = vconf.get("vectorizer") or {"none": {}}
        if list(vectorizer) != ["none"]:
            raise _unimplemented(f"vectoriser {next(iter(vectorizer))!r}: only self-provided")
        index_type = vconf.get("vectorIndexType", "hnsw")
        defaults = {"hnsw": _HNSW_DEFAULTS, "flat": _FLAT_DEFAULTS}.get(index_type)
        if defaults is None:
            raise _unimplemented(f"vector index type {index_type!r}")
        index_config = {**defaults, **vconf.get("vectorIndexConfig", {})}
        if index_config["distance"] not in _DISTANCES:
            raise _unimplemented(f"distance {index_config['distance']!r}")
        if index_config.get("multivector", {}).get("enabled"):
            raise _unimplemented("multi-vectors")
        vectors[vname] = {
            "vectorizer": {"none": {}},
            "vectorIndexType": index_type,
            "vectorIndexConfig": index_config,
        }
    properties = []
    seen: set[str] = set()
    for prop in body.get("properties") or []:
        pname = prop.get("name")
        if not isinstance(pname, str) or not _PROPERTY_RE.match(pname):
            raise FakeError(f"'{pname}' is not a valid property name")
        if pname in _RESERVED_PROPERTIES or pname.lower() in seen:
            raise FakeError(f"property name '{pname}' is reserved or already taken")
        seen.add(pname.lower())
        data_type = (prop.get("dataType") or [None])[0]
        if data_type not in _TYPES:
            raise _unimplemented(f"property type {data_type!r} (property '{pname}')")
        is_text = data_type in _TEXT_TYPES
        searchable = prop.get("indexSearchable", is_text)
        if searchable and not is_text:
            raise FakeError(f"`indexSearchable` is allowed only for text properties ('{pname}')")
        out: dict[str, Any] = {
            "name": pname,
            "dataType": [data_type],
            "indexFilterable": prop.get("indexFilterable", True),
            "indexSearchable": searchable,
            "indexRangeFilters": prop.get("indexRangeFilters", False),
        }
        if prop.get("description"):
            out["description"] = prop["description"]
        if is_text:
            tokenization = prop.get("tokenization") or "word"
            if tokenization not in _TOKENIZATIONS:
                raise FakeError(f"unknown tokenization {tokenization!r} ('{pname}')")
            out["tokenization"] = tokenization
        elif prop.get("tokenization"):
            raise FakeError(f"tokenization is allowed only for text properties ('{pname}')")
        properties.append(out)
    return {
        "class": name,
        "description": body.get("description", ""),
        "properties": properties,
        "vectorConfig": vectors,
        "invertedIndexConfig": {
            "bm25": {"b": 0.75, "k1": 1.2},
            "cleanupIntervalSeconds": 60,
            "stopwords": {"preset": "en", "additions": None, "removals": None},
        },
        "multiTenancyConfig": {
            "enabled": False,
            "autoTenantCreation": False,
            "autoTenantActivation": False,
        },
        "replicationConfig": {"factor": 1, "asyncEnabled": False},
        "shardingConfig": {"desiredCount": 1, "actualCount": 1},
        "moduleConfig": {},
    }


# -- filters -------------------------------------------------------------------------------


def _filter_operand(flt: base_pb2.Filters) -> Any:
    kind = flt.WhichOneof("test_value")
    if kind is None:
        raise FakeError("filter has no value")
    if kind == "value_geo":
        raise _unimplemented("geo filters")
    value = getattr(flt, kind)
    if kind.endswith("_array"):
        return list(value.values)
    return value


def _target(flt: base_pb2.Filters) -> str:
    if flt.HasField("target"):
        if flt.target.WhichOneof("target") != "property":
            raise _unimplemented("reference and count filters")
        return str(flt.target.property)
    if len(flt.on) == 1:
        return str(flt.on[0])
    raise _unimplemented("filters on reference paths")


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


class _FilterEval:
    """Evaluates a gRPC filter against the objects of one collection."""

    def __init__(self, collection: _Collection, flt: base_pb2.Filters) -> None:
        self.collection = collection
        self.predicate = self._compile(flt)

    def __call__(self, obj: _Object) -> bool:
        return self.predicate(obj)

    def _compile(self, flt: base_pb2.Filters) -> Callable[[_Object], bool]:
        op = flt.operator
        if op in (Op.OPERATOR_AND, Op.OPERATOR_OR):
            parts = [self._compile(f) for f in flt.filters]
            if op == Op.OPERATOR_AND:
                return lambda o: all(p(o) for p in parts)
            return lambda o: any(p(o) for p in parts)
        if op == Op.OPERATOR_NOT:
            if len(flt.filters) != 1:
                raise FakeError("a Not filter takes exactly one operand")
            inner = self._compile(flt.filters[0])
            return lambda o: not inner(o)
        if op in (Op.OPERATOR_LIKE, Op.OPERATOR_WITHIN_GEO_RANGE):
            raise _unimplemented(f"filter operator {Op.Operator.Name(op)}")
        target = _target(flt)
        get, element_type = self._accessor(target)
        operand = _filter_operand(flt)
        if op == Op.OPERATOR_IS_NULL:
            want_null = bool(operand)
            return lambda o: (get(o) is None) == want_null
        if isinstance(operand, list):
            wanted = [_coerce(element_type, v, target) for v in operand]
        else:
            wanted = [_coerce(element_type, operand, target)]
        if element_type == "text":  # field tokenisation: the whole value, trimmed
            wanted = [w.strip() for w in wanted]

        def values(o: _Object) -> list[Any]:
            v = get(o)
            found = [] if v is None else v if isinstance(v, list) else [v]
            return [x.strip() if element_type == "text" else x for x in found]

        if op in (Op.OPERATOR_EQUAL, Op.OPERATOR_NOT_EQUAL):
            if len(wanted) != 1:
                raise FakeError("Equal and NotEqual take a single value")
            w = wanted[0]
            if op == Op.OPERATOR_EQUAL:
                return lambda o: w in values(o)
            return lambda o: w not in values(o)
        comparisons = {
            Op.OPERATOR_GREATER_THAN: lambda c: c > 0,
            Op.OPERATOR_GREATER_THAN_EQUAL: lambda c: c >= 0,
            Op.OPERATOR_LESS_THAN: lambda c: c < 0,
            Op.OPERATOR_LESS_THAN_EQUAL: lambda c: c <= 0,
        }
        if op in comparisons:
            if len(wanted) != 1 or element_type in ("boolean", "uuid"):
                raise FakeError(f"operator {Op.Operator.Name(op)} needs one ordered value")
            test, w = comparisons[op], wanted[0]
            return lambda o: any(test(_compare(v, w)) for v in values(o))
        if op == Op.OPERATOR_CONTAINS_ANY:
            return lambda o: any(w in values(o) for w in wanted)
        if op == Op.OPERATOR_CONTAINS_ALL:
            return lambda o: all(w in values(o) for w in wanted)
        if op == Op.OPERATOR_CONTAINS_NONE:
            return lambda o: not any(w in values(o) for w in wanted)
        raise _unimplemented(f"filter operator {Op.Operator.Name(op)}")

    def _accessor(self, target: str) -> tuple[Callable[[_Object], Any], str]:
        if target == "_id":
            return (lambda o: o.uuid), "uuid"
        if target.startswith("_"):
            raise _unimplemented(f"filters on {target!r}")
        prop = self.collection.prop(target)
        if not prop["indexFilterable"]:
            raise FakeError(
                f"Filtering by property '{target}' requires inverted index. "
                f"Is `indexFilterable` option of property '{target}' enabled? "
                "Set it to `true` or leave empty"
            )
        data_type = prop["dataType"][0]
        if data_type in _TEXT_TYPES and prop["tokenization"] != "field":
            raise _unimplemented(
                f"text filters under {prop['tokenization']!r} tokenisation ('{target}')"
            )
        return (lambda o: o.properties.get(target)), data_type.removesuffix("[]")


# -- gRPC conversions ----------------------------------------------------------------------


def _decode_floats(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float64)


def _batch_properties(collection: _Collection, props: batch_pb2.BatchObject.Properties) -> dict:
    if (
        props.single_target_ref_props
        or props.multi_target_ref_props
        or props.object_properties
        or props.object_array_properties
    ):
        raise _unimplemented("references and object properties")
    raw: dict[str, Any] = {}
    for name, value in props.non_ref_properties.fields.items():
        kind = value.WhichOneof("kind")
        if kind == "null_value":
            continue
        if kind in ("struct_value", "list_value"):
            raise _unimplemented(f"nested property '{name}'")
        raw[name] = getattr(value, kind)
    for arrays in (props.text_array_properties, props.boolean_array_properties):
        for arr in arrays:
            raw[arr.prop_name] = list(arr.values)
    for arr in props.int_array_properties:
        raw[arr.prop_name] = list(arr.values)
    for arr in props.number_array_properties:
        raw[arr.prop_name] = (
            np.frombuffer(arr.values_bytes, dtype="<f8").tolist()
            if arr.values_bytes
            else list(arr.values)
        )
    for name in props.empty_list_props:
        raw[name] = []
    out = {}
    for name, value in raw.items():
        data_type = collection.prop(name)["dataType"][0]
        out[name] = _coerce(data_type, value, name)
    return out


def _batch_vectors(collection: _Collection, obj: batch_pb2.BatchObject) -> dict[str, np.ndarray]:
    if obj.vector or obj.vector_bytes:
        raise _unimplemented("unnamed vectors: collection has named vectors, name the vector")
    vectors: dict[str, np.ndarray] = {}
    for vec in obj.vectors:
        if vec.type == base_pb2.Vectors.VECTOR_TYPE_MULTI_FP32:
            raise _unimplemented("multi-vectors")
        collection.distance(vec.name)  # the named vector exists
        array = _decode_floats(vec.vector_bytes)
        dims = collection.dims.get(vec.name)
        if dims is not None and dims != len(array):
            raise FakeError(
                f"new node has a vector with length {len(array)}. "
                f"Existing nodes have vectors with length {dims}"
            )
        vectors[vec.name] = array
    return vectors


def _value(data_type: str, value: Any) -> properties_pb2.Value:
    if data_type.endswith("[]"):
        element = data_type[:-2]
        if element == "text":
            lv = properties_pb2.ListValue(text_values=properties_pb2.TextValues(values=value))
        elif element == "date":
            dates = [_format_date(v) for v in value]
            lv = properties_pb2.ListValue(date_values=properties_pb2.DateValues(values=dates))
        elif element == "uuid":
            lv = properties_pb2.ListValue(uuid_values=properties_pb2.UuidValues(values=value))
        elif element == "boolean":
            lv = properties_pb2.ListValue(bool_values=properties_pb2.BoolValues(values=value))
        elif element == "int":
            packed = struct.pack(f"<{len(value)}q", *value)
            lv = properties_pb2.ListValue(int_values=properties_pb2.IntValues(values=packed))
        else:
            packed = struct.pack(f"<{len(value)}d", *value)
            lv = properties_pb2.ListValue(number_values=properties_pb2.NumberValues(values=packed))
        return properties_pb2.Value(list_value=lv)
    if data_type == "text":
        return properties_pb2.Value(text_value=value)
    if data_type == "date":
        return properties_pb2.Value(date_value=_format_date(value))
    if data_type == "uuid":
        return properties_pb2.Value(uuid_value=value)
    if data_type == "boolean":
        return properties_pb2.Value(bool_value=value)
    if data_type == "int":
        return properties_pb2.Value(int_value=value)
    return properties_pb2.Value(number_value=value)


def _distance(kind: str, a: np.ndarray, b: np.ndarray) -> float:
    if kind == "cosine":
        norms = float(np.linalg.norm(a) * np.linalg.norm(b))
        return 1.0 - (float(np.dot(a, b)) / norms if norms else 0.0)
    if kind == "dot":
        return -float(np.dot(a, b))
    return float(np.sum((a - b) ** 2))


# -- the servers ---------------------------------------------------------------------------


class FakeWeaviate:
    """The fake server: REST and gRPC on 127.0.0.1, sharing one in-memory database.

    ``with FakeWeaviate() as fake: WeaviateStore.from_url(fake.url)``.
    """

    def __init__(self, version: str = VERSION) -> None:
        self.version = version
        self.lock = threading.RLock()
        self.collections: dict[str, _Collection] = {}
        self.requests: list[str] = []  # "REST GET /v1/schema", "gRPC Search", ...
        self.grpc_requests: list[tuple[str, Any]] = []  # ("Search", SearchRequest), ...
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None
        self.http_port = 0
        self.grpc_port = 0

    @property
    def url(self) -> str:
        return f"weaviate://127.0.0.1:{self.http_port}?grpc_port={self.grpc_port}"

    def start(self) -> FakeWeaviate:
        fake = self

        class Handler(_RestHandler):
            server_fake = fake

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="fake-weaviate-rest", daemon=True
        )
        self._http_thread.start()

        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), self._grpc)
        self._grpc.add_generic_rpc_handlers((_health_handler(),))
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> FakeWeaviate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, entry: str) -> None:
        with self.lock:
            self.requests.append(entry)

    def collection(self, name: str) -> _Collection:
        coll = self.collections.get(name)
        if coll is None:
            raise FakeError(
                f"could not find class {name} in schema", grpc.StatusCode.NOT_FOUND, 404
            )
        return coll

    # -- REST ------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            "hostname": f"http://127.0.0.1:{self.http_port}",
            "version": self.version,
            "modules": {},
            "grpcMaxMessageSize": GRPC_MAX_MESSAGE_SIZE,
        }

    def create_class(self, body: dict[str, Any]) -> dict[str, Any]:
        config = _normalise_class(body)
        with self.lock:
            taken = {n.lower() for n in self.collections}
            if config["class"].lower() in taken:
                raise FakeError(f"class name {config['class']!r} already exists")
            self.collections[config["class"]] = _Collection(config)
        return config

    # -- gRPC ------------------------------------------------------------------------------

    def batch_objects(self, request: batch_pb2.BatchObjectsRequest) -> batch_pb2.BatchObjectsReply:
        started = time.perf_counter()
        errors = []
        with self.lock:
            for index, obj in enumerate(request.objects):
                try:
                    self._upsert(obj)
                except FakeError as exc:
                    errors.append(
                        batch_pb2.BatchObjectsReply.BatchError(index=index, error=str(exc))
                    )
        return batch_pb2.BatchObjectsReply(took=time.perf_counter() - started, errors=errors)

    def _upsert(self, obj: batch_pb2.BatchObject) -> None:
        if obj.tenant:
            raise _unimplemented("multi-tenancy")
        coll = self.collection(obj.collection)
        uid = str(uuid_lib.UUID(obj.uuid)) if obj.uuid else str(uuid_lib.uuid4())
        properties = _batch_properties(coll, obj.properties)
        vectors = _batch_vectors(coll, obj)
        now = _now_ms()
        old = coll.objects.pop(uid, None)  # a replaced object moves to the end, as its docID
        for name, vec in vectors.items():
            coll.dims.setdefault(name, len(vec))
        coll.objects[uid] = _Object(
            uuid=uid,
            properties=properties,
            vectors=vectors,
            created_ms=old.created_ms if old else now,
            updated_ms=now,
        )

    def batch_delete(
        self, request: batch_delete_pb2.BatchDeleteRequest
    ) -> batch_delete_pb2.BatchDeleteReply:
        started = time.perf_counter()
        if request.tenant:
            raise _unimplemented("multi-tenancy")
        if not request.HasField("filters"):
            raise FakeError("batch delete needs a filter")
        with self.lock:
            coll = self.collection(request.collection)
            match = _FilterEval(coll, request.filters)
            doomed = [uid for uid, obj in coll.objects.items() if match(obj)]
            if len(doomed) > QUERY_MAXIMUM_RESULTS:
                doomed = doomed[:QUERY_MAXIMUM_RESULTS]
            if not request.dry_run:
                for uid in doomed:
                    del coll.objects[uid]
        return batch_delete_pb2.BatchDeleteReply(
            took=time.perf_counter() - started,
            matches=len(doomed),
            successful=0 if request.dry_run else len(doomed),
            failed=0,
            objects=[
                batch_delete_pb2.BatchDeleteObject(
                    uuid=uuid_lib.UUID(uid).bytes, successful=not request.dry_run
                )
                for uid in doomed
            ]
            if request.verbose
            else [],
        )

    def search(self, request: search_get_pb2.SearchRequest) -> search_get_pb2.SearchReply:
        started = time.perf_counter()
        self._refuse_unsupported(request)
        limit = request.limit or QUERY_DEFAULTS_LIMIT
        if request.offset + limit > QUERY_MAXIMUM_RESULTS:
            raise FakeError(
                f"query maximum results exceeded: offset {request.offset} + limit {limit} "
                f"> {QUERY_MAXIMUM_RESULTS}"
            )
        with self.lock:
            coll = self.collection(request.collection)
            candidates = list(coll.objects.values())
            if request.HasField("filters"):
                match = _FilterEval(coll, request.filters)
                candidates = [o for o in candidates if match(o)]
            distances: dict[str, float] = {}
            if request.HasField("near_vector"):
                candidates, distances = self._near_vector(coll, request.near_vector, candidates)
            elif request.sort_by:
                candidates = self._sorted(coll, request.sort_by, candidates)
            page = candidates[request.offset : request.offset + limit]
            results = [self._result(coll, request, obj, distances.get(obj.uuid)) for obj in page]
        return search_get_pb2.SearchReply(took=time.perf_counter() - started, results=results)

    @staticmethod
    def _refuse_unsupported(request: search_get_pb2.SearchRequest) -> None:
        if request.tenant:
            raise _unimplemented("multi-tenancy")
        for name in (
            "group_by",
            "hybrid_search",
            "bm25_search",
            "near_object",
            "near_text",
            "near_image",
            "near_audio",
            "near_video",
            "near_depth",
            "near_thermal",
            "near_imu",
            "generative",
            "rerank",
            "boost",
        ):
            if request.HasField(name):
                raise _unimplemented(f"search with {name}")
        if request.after:
            raise _unimplemented("cursors (after)")
        if request.autocut:
            raise _unimplemented("autocut")
        if request.HasField("properties") and (
            request.properties.ref_properties or request.properties.object_properties
        ):
            raise _unimplemented("references and object properties")

    def _near_vector(
        self, coll: _Collection, nv: Any, candidates: list[_Object]
    ) -> tuple[list[_Object], dict[str, float]]:
        queries: list[tuple[str, np.ndarray]] = []
        for vec in nv.vectors:
            if vec.type == base_pb2.Vectors.VECTOR_TYPE_MULTI_FP32:
                raise _unimplemented("multi-vector search")
            queries.append((vec.name, _decode_floats(vec.vector_bytes)))
        if nv.vector_bytes or nv.vector or nv.vector_per_target or nv.vector_for_targets:
            raise _unimplemented("near_vector in the pre-1.29 encodings")
        targets = list(nv.targets.target_vectors) or list(nv.target_vectors)
        if len(queries) != 1 or len(targets) > 1:
            raise _unimplemented("multi-target vector search")
        name = queries[0][0] or (targets[0] if targets else "")
        if not name:
            if len(coll.config["vectorConfig"]) != 1:
                raise FakeError("multiple vectors in the collection: name a target vector")
            name = next(iter(coll.config["vectorConfig"]))
        if targets and targets[0] != name:
            raise FakeError(f"target vector {targets[0]!r} does not match vector {name!r}")
        kind = coll.distance(name)
        query = queries[0][1]
        dims = coll.dims.get(name)
        if dims is not None and dims != len(query):
            raise FakeError(f"vector search: query vector of length {len(query)}, index has {dims}")
        scored = [
            (_distance(kind, query, obj.vectors[name]), obj)
            for obj in candidates
            if name in obj.vectors
        ]
        if nv.HasField("distance"):
            scored = [(d, o) for d, o in scored if d <= nv.distance]
        if nv.HasField("certainty"):
            if kind != "cosine":
                raise FakeError("certainty is only supported with cosine distance")
            scored = [(d, o) for d, o in scored if 1 - d / 2 >= nv.certainty]
        scored.sort(key=lambda pair: pair[0])  # stable: ties keep storage order
        return [o for _, o in scored], {o.uuid: d for d, o in scored}

    @staticmethod
    def _sorted(coll: _Collection, sort_by: Any, candidates: list[_Object]) -> list[_Object]:
        ordered = list(candidates)
        for sort in reversed(list(sort_by)):
            if len(sort.path) != 1:
                raise _unimplemented("sorting by reference paths")
            path = sort.path[0]
            getter: Callable[[_Object], Any]
            if path == "_id":
                getter = lambda o: o.uuid  # noqa: E731
            elif path == "_creationTimeUnix":
                getter = lambda o: o.created_ms  # noqa: E731
            elif path == "_lastUpdateTimeUnix":
                getter = lambda o: o.updated_ms  # noqa: E731
            else:
                if coll.prop(path)["dataType"][0].endswith("[]"):
                    raise _unimplemented("sorting by array properties")
                getter = lambda o, p=path: o.properties.get(p)  # noqa: E731

            def key(o: _Object, g: Callable[[_Object], Any] = getter) -> tuple[bool, Any]:
                value = g(o)
                return (value is not None, value if value is not None else 0)

            ordered.sort(key=key, reverse=not sort.ascending)  # nulls first when ascending
        return ordered

    @staticmethod
    def _result(
        coll: _Collection,
        request: search_get_pb2.SearchRequest,
        obj: _Object,
        distance: float | None,
    ) -> search_get_pb2.SearchResult:
        md = request.metadata
        meta = search_get_pb2.MetadataResult(id=obj.uuid, id_as_bytes=uuid_lib.UUID(obj.uuid).bytes)
        if md.creation_time_unix:
            meta.creation_time_unix = obj.created_ms
            meta.creation_time_unix_present = True
        if md.last_update_time_unix:
            meta.last_update_time_unix = obj.updated_ms
            meta.last_update_time_unix_present = True
        if distance is not None and md.distance:
            meta.distance = distance
            meta.distance_present = True
        if distance is not None and md.certainty and coll.distance(_first_vector(coll)) == "cosine":
            meta.certainty = 1 - distance / 2
            meta.certainty_present = True
        wanted_vectors = list(md.vectors) or (list(obj.vectors) if md.vector else [])
        for name in wanted_vectors:
            if name in obj.vectors:
                meta.vectors.append(
                    base_pb2.Vectors(
                        name=name,
                        vector_bytes=obj.vectors[name].astype("<f4").tobytes(),
                        type=base_pb2.Vectors.VECTOR_TYPE_SINGLE_FP32,
                    )
                )
        props = search_get_pb2.PropertiesResult(target_collection=coll.name)
        if request.HasField("properties"):
            pr = request.properties
            names = (
                [p["name"] for p in coll.config["properties"]]
                if pr.return_all_nonref_properties
                else list(pr.non_ref_properties)
            )
            for name in names:
                data_type = coll.prop(name)["dataType"][0]
                value = obj.properties.get(name)
                if value is not None:
                    props.non_ref_props.fields[name].CopyFrom(_value(data_type, value))
        return search_get_pb2.SearchResult(metadata=meta, properties=props)


def _first_vector(coll: _Collection) -> str:
    return next(iter(coll.config["vectorConfig"]))


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, fake: FakeWeaviate) -> None:
        self.fake = fake

    def _run(self, name: str, fn: Callable[[Any], Any], request: Any, context: Any) -> Any:
        self.fake.log(f"gRPC {name}")
        with self.fake.lock:
            self.fake.grpc_requests.append((name, request))
        try:
            return fn(request)
        except FakeError as exc:
            context.abort(exc.code, str(exc))

    def Search(self, request: Any, context: Any) -> Any:
        return self._run("Search", self.fake.search, request, context)

    def BatchObjects(self, request: Any, context: Any) -> Any:
        return self._run("BatchObjects", self.fake.batch_objects, request, context)

    def BatchDelete(self, request: Any, context: Any) -> Any:
        return self._run("BatchDelete", self.fake.batch_delete, request, context)


def _health_handler() -> grpc.GenericRpcHandler:
    def check(request: Any, context: Any) -> Any:
        return health_weaviate_pb2.WeaviateHealthCheckResponse(
            status=health_weaviate_pb2.WeaviateHealthCheckResponse.SERVING
        )

    return grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {
            "Check": grpc.unary_unary_rpc_method_handler(
                check,
                request_deserializer=health_weaviate_pb2.WeaviateHealthCheckRequest.FromString,
                response_serializer=health_weaviate_pb2.WeaviateHealthCheckResponse.SerializeToString,
            )
        },
    )


class _RestHandler(BaseHTTPRequestHandler):
    server_fake: FakeWeaviate
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": [{"message": message}]})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _route(self, method: str) -> None:
        fake = self.server_fake
        path = self.path.split("?", 1)[0].rstrip("/")
        fake.log(f"REST {method} {path}")
        body = self._body() if method in ("POST", "PUT", "PATCH") else None
        try:
            for pattern, verb, handler in self._routes():
                m = re.fullmatch(pattern, path)
                if m and verb == method:
                    status, payload = handler(body, *m.groups())
                    self._send(status, payload)
                    return
            self._error(404, f"fake Weaviate does not serve {method} {path}")
        except FakeError as exc:
            self._error(exc.http, str(exc))

    def _routes(self) -> Iterator[tuple[str, str, Callable[..., tuple[int, Any]]]]:
        fake = self.server_fake

        def get_class(_: Any, name: str) -> tuple[int, Any]:
            with fake.lock:
                coll = fake.collections.get(name)
                return (200, coll.config) if coll else (404, None)

        def delete_class(_: Any, name: str) -> tuple[int, Any]:
            with fake.lock:
                fake.collections.pop(name, None)
            return 200, None

        def list_classes(_: Any) -> tuple[int, Any]:
            with fake.lock:
                return 200, {"classes": [c.config for c in fake.collections.values()]}

        yield r"/v1/meta", "GET", lambda _: (200, fake.meta())
        yield r"/v1/\.well-known/(?:ready|live)", "GET", lambda _: (200, None)
        yield r"/v1/schema", "GET", list_classes
        yield r"/v1/schema", "POST", lambda body: (200, fake.create_class(body))
        yield r"/v1/schema/([^/]+)", "GET", get_class
        yield r"/v1/schema/([^/]+)", "DELETE", delete_class

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_HEAD(self) -> None:
        self._route("HEAD")
