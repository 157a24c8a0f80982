"""The judge's combiner and sensitive-topic head: the reviewer-fitted combiner kept in
long-term memory (``chimera eval calibration``), else the ones fitted on the labelled
gate set and shipped as package data (``gate_fit.json``, written by
``evals/fit_gate.py``), else the fixed weighted mean."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from langgraph.store.base import BaseStore

from chimera.domain.errors import InputError
from chimera.domain.signals.combiner import Combiner
from chimera.domain.signals.sensitive import SensitiveHead

NAMESPACE = ("calibration",)
KEY = "judge"
SHIPPED_FILE = Path(str(files("chimera.graphs.memory") / "gate_fit.json"))
# Another fit (a JSON file of the same format), or "none" for the weighted mean and the
# word lists: how an operator ships their own, and how routing tests pin theirs.
FIT_ENV = "CHIMERA_GATE_FIT"


def fitted_file() -> Path | None:
    chosen = os.environ.get(FIT_ENV, "").strip()
    if chosen.lower() == "none":
        return None
    return Path(chosen) if chosen else SHIPPED_FILE


def combiner_from(value: dict[str, Any]) -> Combiner:
    calibration = value.get("calibration")
    return Combiner(
        weights={k: float(v) for k, v in value["weights"].items()},
        intercept=value.get("intercept"),
        fitted_on=int(value.get("fitted_on", 0)),
        fitted_at=value.get("fitted_at"),
        calibration=[(float(x), float(y)) for x, y in calibration] if calibration else None,
        source=str(value.get("source", "reviewers")),
    )


@lru_cache(maxsize=4)
def _fitted(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if path == SHIPPED_FILE:
            return {}
        raise InputError(f"{FIT_ENV}={path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not a gate fit (invalid JSON: {exc.msg})") from None
    return data


def shipped_combiner() -> Combiner:
    """The combiner fitted on the gate set's fit split, or the weighted mean without one."""
    fitted = _fitted(fitted_file()).get("combiner")
    return combiner_from(fitted) if fitted else Combiner()


def shipped_sensitive_head() -> SensitiveHead | None:
    """The sensitive-topic head fitted on the gate set's fit split, if one is shipped."""
    return _head(fitted_file())


@lru_cache(maxsize=4)
def _head(path: Path | None) -> SensitiveHead | None:
    fitted = _fitted(path).get("sensitive")
    return SensitiveHead.from_json(fitted) if fitted else None


def clear_cache() -> None:
    """Forget the fits read so far (after writing a new one)."""
    _fitted.cache_clear()
    _head.cache_clear()


async def load_combiner(store: BaseStore | None) -> Combiner:
    """The reviewer-fitted combiner from memory, else the shipped one."""
    if store is None:
        return shipped_combiner()
    item = await store.aget(NAMESPACE, KEY)
    if item is None:
        return shipped_combiner()
    return combiner_from(item.value)


async def save_combiner(store: BaseStore, combiner: Combiner) -> None:
    await store.aput(NAMESPACE, KEY, asdict(combiner), index=False)
