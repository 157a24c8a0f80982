"""The judge's fitted combiner, kept in long-term memory (``chimera eval calibration``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langgraph.store.base import BaseStore

from chimera.domain.signals.combiner import Combiner

NAMESPACE = ("calibration",)
KEY = "judge"


async def load_combiner(store: BaseStore | None) -> Combiner:
    """The fitted combiner from memory, or the default weighted mean."""
    if store is None:
        return Combiner()
    item = await store.aget(NAMESPACE, KEY)
    if item is None:
        return Combiner()
    value: dict[str, Any] = item.value
    return Combiner(
        weights={k: float(v) for k, v in value["weights"].items()},
        intercept=value.get("intercept"),
        fitted_on=int(value.get("fitted_on", 0)),
        fitted_at=value.get("fitted_at"),
    )


async def save_combiner(store: BaseStore, combiner: Combiner) -> None:
    await store.aput(NAMESPACE, KEY, asdict(combiner), index=False)
