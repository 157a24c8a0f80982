"""Where a namespace and a key live in Weaviate: collection names and object ids."""

from __future__ import annotations

import hashlib
import json
import re

from weaviate.util import generate_uuid5

Namespace = tuple[str, ...]
DEFAULT_PREFIX = "Chimera"
DESCRIPTION_PREFIX = "LangGraph store namespace: "
PREFIX_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SLUG_MAX = 40
_HASH_LEN = 12


def collection_name(namespace: Namespace, prefix: str = DEFAULT_PREFIX) -> str:
    """The Weaviate collection of a namespace: deterministic, a valid class name."""
    slug = "_".join(s for s in (re.sub(r"[^A-Za-z0-9]", "", part) for part in namespace) if s)
    slug = slug[:_SLUG_MAX].strip("_")
    digest = hashlib.sha256(namespace_json(namespace).encode()).hexdigest()[:_HASH_LEN]
    return f"{prefix}_{slug}_{digest}" if slug else f"{prefix}_{digest}"


def object_uuid(namespace: Namespace, key: str) -> str:
    """The object id of (namespace, key). ``generate_uuid5`` concatenates its two
    arguments without a separator, so both go in as one JSON text."""
    return generate_uuid5(json.dumps([list(namespace), key], ensure_ascii=False))


def namespace_json(namespace: Namespace) -> str:
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))
