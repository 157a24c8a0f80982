"""What a worker or the judge remembers for one piece of work: memories with their scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Memory:
    key: str
    text: str
    score: float
    value: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Recollection:
    facts: list[Memory] = field(default_factory=list)
    posts: list[Memory] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [m.key for m in (*self.facts, *self.posts)]
