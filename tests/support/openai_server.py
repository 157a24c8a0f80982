"""A scripted OpenAI-compatible chat-completions server for tests.

Real HTTP on 127.0.0.1 with an ephemeral port (standard library only), so the
provider path (langchain-openai -> openai -> httpx -> socket) runs end to end::

    with OpenAICompatibleServer() as server:
        server.script(tool_call({"score": 4, "reasons": ["in voice"]}))
        monkeypatch.setenv("CHIMERA_OPENAI_BASE_URL", server.base_url)  # .../v1
        ...
        assert server.requests[0].bearer_token == "sk-test"

Scripting: ``server.script(*replies)`` queues replies, one per request, in order.
A reply is a :class:`Reply` (build one with :func:`tool_call`, :func:`text`,
:func:`error`, or ``Reply(...)`` directly) or a callable taking the
:class:`RecordedRequest` and returning a Reply. When the queue is empty the
server answers with ``server.default`` if set (same kinds), else HTTP 500 with an
OpenAI-style error body saying no reply was scripted, so a test that sends more
requests than it planned fails loudly.

``Reply(delay=N)`` sleeps N seconds before answering (for client timeouts); the
sleep ends early when the server shuts down, so closing never waits for it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "OpenAICompatibleServer",
    "RecordedRequest",
    "Reply",
    "error",
    "text",
    "tool_call",
]

HOST = "127.0.0.1"
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # header names lower-cased
    body: Any  # the parsed JSON body, or None when it was not JSON
    raw_body: bytes

    @property
    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def tools(self) -> list[dict[str, Any]]:
        return (self.body.get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.tools]

    @property
    def forced_tool(self) -> str | None:
        """The function name ``tool_choice`` forces, if it forces one."""
        choice = self.body.get("tool_choice") if isinstance(self.body, dict) else None
        if isinstance(choice, dict):
            return choice.get("function", {}).get("name")
        return None


ReplyBody = dict[str, Any] | Callable[[RecordedRequest], dict[str, Any]]


@dataclass(frozen=True)
class Reply:
    """What the server answers: status, JSON body (or a function of the request
    returning one), extra headers, and a delay in seconds before answering."""

    status: int = 200
    body: ReplyBody = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Scripted = Reply | Callable[[RecordedRequest], Reply]

_USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _completion(request: RecordedRequest, message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model or "unknown",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": dict(_USAGE),
    }


def tool_call(
    arguments: dict[str, Any] | str,
    *,
    name: str | None = None,
    call_id: str = "call_test_1",
    delay: float = 0.0,
) -> Reply:
    """A completion whose message calls one tool. ``arguments`` is JSON-encoded
    when it is a dict and sent verbatim when it is a str (so invalid JSON can be
    scripted). ``name`` defaults to the tool the request forces, else its first tool."""

    def body(request: RecordedRequest) -> dict[str, Any]:
        tool = name or request.forced_tool or next(iter(request.tool_names), "tool")
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": tool, "arguments": args},
                }
            ],
        }
        return _completion(request, message, "tool_calls")

    return Reply(body=body, delay=delay)


def text(content: str, *, delay: float = 0.0) -> Reply:
    """A completion whose message is plain text, with no tool call."""

    def body(request: RecordedRequest) -> dict[str, Any]:
        return _completion(request, {"role": "assistant", "content": content}, "stop")

    return Reply(body=body, delay=delay)


def error(
    status: int,
    message: str = "scripted error",
    *,
    type: str | None = None,
    code: str | None = None,
    retry_after_ms: int | None = None,
    delay: float = 0.0,
) -> Reply:
    """An HTTP error with an OpenAI-style body ``{"error": {message, type, param, code}}``.
    ``retry_after_ms`` sets the ``retry-after-ms`` header the openai client honours."""
    default_type = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
    body = {
        "error": {"message": message, "type": type or default_type, "param": None, "code": code}
    }
    return Reply(status=status, body=body, headers=headers, delay=delay)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    # HTTP/1.0: one request per connection, so no handler thread lingers on keep-alive.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw_body=raw,
        )
        owner._record(request)
        if self.command != "POST" or path not in CHAT_PATHS:
            reply = error(404, f"no route for {self.command} {path}", type="not_found")
        else:
            reply = owner._next_reply(request)
        if reply.delay and owner._closing.wait(reply.delay):
            return  # shutting down: drop the connection without answering
        payload = reply.body(request) if callable(reply.body) else reply.body
        data = json.dumps(payload).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_test_{owner.request_count}")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during our delay)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    owner: OpenAICompatibleServer


class OpenAICompatibleServer:
    """A chat-completions server on 127.0.0.1:<ephemeral port>; use as a context
    manager (or call ``start()``/``close()``). Thread-safe: requests are handled
    on their own threads while the test scripts and inspects from its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Scripted] = deque()
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.default: Scripted | None = None

    # lifecycle -----------------------------------------------------------
    def start(self) -> OpenAICompatibleServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((HOST, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._closing.set()  # wake delayed replies
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # addresses -----------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``) to give a client."""
        return f"{self.root_url}/v1"

    # scripting -----------------------------------------------------------
    def script(self, *replies: Scripted) -> OpenAICompatibleServer:
        """Queue replies, answered one per request in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return len(self._queue)

    # inspection ----------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def reset(self) -> None:
        """Forget recorded requests and queued replies (``default`` is kept)."""
        with self._lock:
            self._requests.clear()
            self._queue.clear()

    # handler side --------------------------------------------------------
    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else self.default
        if scripted is None:
            return error(500, "the test server has no scripted reply left for this request")
        return scripted if isinstance(scripted, Reply) else scripted(request)
