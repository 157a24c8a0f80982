"""LangGraph store filters on Weaviate: scalar equality as facets the server matches, the
rest checked on the client with PostgreSQL JSONB's semantics (see the package doc)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import MatchCondition

from chimera.adapters.memory.weaviate.naming import Namespace

_MISSING = object()


def normalise_scalar(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def facet(field: str, value: Any) -> str:
    """The facet that stands for ``value[field] == value`` (a scalar)."""
    return json.dumps([field, normalise_scalar(value)], ensure_ascii=False, separators=(",", ":"))


def facets_of(value: Mapping[str, Any]) -> list[str]:
    return [facet(k, v) for k, v in value.items() if is_scalar(v)]


def split_filter(
    flt: Mapping[str, Any] | None,
) -> tuple[list[str], list[tuple[str, str, Any]]]:
    """Facets the server can match, and (field, operator, operand) left for the client."""
    facets: list[str] = []
    residual: list[tuple[str, str, Any]] = []
    for field, cond in (flt or {}).items():
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            for op, operand in cond.items():
                if op == "$eq" and is_scalar(operand):
                    facets.append(facet(field, operand))
                elif op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte"):
                    residual.append((field, op, operand))
                else:
                    raise ValueError(f"unsupported filter operator {op!r} on {field!r}")
        elif is_scalar(cond):
            facets.append(facet(field, cond))
        else:
            residual.append((field, "$eq", cond))
    return facets, residual


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def ordered(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 when a and b compare (both numbers, or both strings), else None."""
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    return None


def matches(value: Mapping[str, Any], residual: Sequence[tuple[str, str, Any]]) -> bool:
    for field, op, operand in residual:
        actual = value.get(field, _MISSING)
        if actual is _MISSING:
            return False
        if op == "$eq":
            ok = json_equal(actual, operand)
        elif op == "$ne":
            ok = not json_equal(actual, operand)
        else:
            order = ordered(actual, operand)
            ok = (
                order is not None
                and {
                    "$gt": order > 0,
                    "$gte": order >= 0,
                    "$lt": order < 0,
                    "$lte": order <= 0,
                }[op]
            )
        if not ok:
            return False
    return True


def namespace_matches(condition: MatchCondition, namespace: Namespace) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"unsupported namespace match type {condition.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)
