"""``weaviate://host[:port]?grpc_port=N`` URLs as weaviate-client connection arguments."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from chimera.domain.errors import ConfigError

DEFAULT_HTTP_PORT = 8080
DEFAULT_GRPC_PORT = 50051


def parse_url(url: str) -> dict[str, Any]:
    """``weaviate://host[:port][?grpc_port=N&grpc_host=H]`` (``weaviates://`` for TLS) as
    the keyword arguments of ``weaviate.connect_to_custom``."""
    parts = urlsplit(url)
    if parts.scheme not in ("weaviate", "weaviates"):
        raise ConfigError(
            f"not a Weaviate URL: {url!r} (expected weaviate://host:8080?grpc_port=50051, "
            "or weaviates:// for TLS)"
        )
    if not parts.hostname:
        raise ConfigError(f"the Weaviate URL {url!r} names no host")
    secure = parts.scheme == "weaviates"
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"grpc_port", "grpc_host"}
    if unknown:
        raise ConfigError(f"unknown parameters in the Weaviate URL: {', '.join(sorted(unknown))}")
    try:
        http_port = parts.port or (443 if secure else DEFAULT_HTTP_PORT)
        grpc_port = int(query.get("grpc_port", 443 if secure else DEFAULT_GRPC_PORT))
    except ValueError as exc:
        raise ConfigError(f"bad port in the Weaviate URL {url!r}: {exc}") from exc
    return {
        "http_host": parts.hostname,
        "http_port": http_port,
        "http_secure": secure,
        "grpc_host": query.get("grpc_host", parts.hostname),
        "grpc_port": grpc_port,
        "grpc_secure": secure,
    }
