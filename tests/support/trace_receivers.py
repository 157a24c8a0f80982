"""Receivers for traces, on 127.0.0.1 with an ephemeral port (standard library HTTP):

- :class:`LangSmithReceiver`: answers the LangSmith API a tracing client talks to
  (``GET /info``, ``POST /runs/multipart``, ``POST /runs/batch``, ``POST /runs``,
  ``PATCH /runs/<id>``) and rebuilds the runs it was sent, merged by id.
- :class:`OtlpReceiver`: an OTLP/HTTP collector (``POST /v1/traces``, protobuf),
  decoded with opentelemetry-proto into :class:`Span` records.

Both keep every request as received (``raw``: headers and body bytes, decompressed),
so a test can look for what must never arrive. ``status`` makes a receiver answer
every request with that HTTP status instead (a tracing backend that is down).
"""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes  # decompressed

    @property
    def raw(self) -> bytes:
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items()).encode()
        return head + b"\n\n" + self.body


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = _decompress(body, headers.get("content-encoding", ""))
        received = Received(self.command, self.path.split("?", 1)[0], headers, body)
        owner = self.server.owner
        with owner.lock:
            owner.received.append(received)
        status = owner.status or 200
        payload = owner.answer(received) if status < 400 else b'{"detail": "down"}'
        self.send_response(status)
        self.send_header("content-type", owner.content_type)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: _Receiver


class _Receiver:
    content_type = "application/json"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.status: int | None = None
        self._httpd: _Server | None = None

    def answer(self, received: Received) -> bytes:
        return b"{}"

    def __enter__(self) -> _Receiver:
        httpd = _Server((HOST, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the receiver is not running"
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def everything(self) -> bytes:
        """Every request's headers and body, as one blob to search."""
        return b"\n".join(r.raw for r in self.requests())


class LangSmithReceiver(_Receiver):
    def answer(self, received: Received) -> bytes:
        if received.path == "/info":
            # No batch ingest flags: the client uses its defaults (multipart).
            return json.dumps({"version": "test"}).encode()
        return b"{}"

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every run sent, by id, with its posts and patches merged (patch wins)."""
        runs: dict[str, dict[str, Any]] = {}
        for received in self.requests():
            for op, run_id, fields in _operations(received):
                run = runs.setdefault(run_id, {"id": run_id})
                for key, value in fields.items():
                    if key == "extra" and isinstance(value, dict):
                        run.setdefault("extra", {}).update(value)
                    else:
                        run[key] = value
                run.setdefault("_ops", []).append(op)
        return runs


def _operations(received: Received) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if received.method == "POST" and received.path == "/runs/multipart":
        content_type = received.headers["content-type"]
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + received.body,
            policy=email.policy.HTTP,
        )
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            op, _, rest = str(name).partition(".")
            run_id, _, key = rest.partition(".")
            if op not in ("post", "patch"):
                continue  # feedback, attachments
            value = json.loads(part.get_payload(decode=True) or b"null")
            yield op, run_id, ({key: value} if key else value)
    elif received.method == "POST" and received.path == "/runs/batch":
        batch = json.loads(received.body)
        for op in ("post", "patch"):
            for run in batch.get(op) or []:
                yield op, str(run["id"]), run
    elif received.method == "POST" and received.path == "/runs":
        run = json.loads(received.body)
        yield "post", str(run["id"]), run
    elif received.method == "PATCH" and received.path.startswith("/runs/"):
        yield "patch", received.path.rsplit("/", 1)[-1], json.loads(received.body)


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


class OtlpReceiver(_Receiver):
    content_type = "application/x-protobuf"

    def answer(self, received: Received) -> bytes:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        return bytes(ExportTraceServiceResponse().SerializeToString())

    def spans(self) -> list[Span]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        spans = []
        for received in self.requests():
            if received.path != "/v1/traces":
                continue
            request = ExportTraceServiceRequest.FromString(received.body)
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        spans.append(
                            Span(
                                name=span.name,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                attributes={a.key: _value(a.value) for a in span.attributes},
                                resource=resource,
                            )
                        )
        return spans
