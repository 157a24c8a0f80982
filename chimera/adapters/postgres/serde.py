"""LangGraph's serializer with known secrets masked in what it writes.

Checkpoints and checkpoint writes (the ``__error__`` channel holds the repr of a
provider's exception, whose body may echo an API key) go through ``dumps_typed``.
Each secret is overwritten by as many ``*`` bytes as it has, so the msgpack (or
JSON) framing around it stays valid and the value still loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer


class RedactingSerializer(JsonPlusSerializer):
    def __init__(self, secrets: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        encoded = {s.encode("utf-8") for s in secrets if s}
        # Longest first: a secret that contains another is masked whole.
        self.secret_bytes = sorted(encoded, key=len, reverse=True)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        kind, data = super().dumps_typed(obj)
        for secret in self.secret_bytes:
            if secret in data:
                data = data.replace(secret, b"*" * len(secret))
        return kind, data
