"""A reviewer's decision on an interrupted result, validated before it reaches the graph."""

from __future__ import annotations

from typing import Any, get_args

from chimera.domain.errors import InputError
from chimera.domain.types import Decision, DecisionKind

DECISIONS: tuple[str, ...] = get_args(DecisionKind)


def parse_decision(value: Any, *, attempt: int, max_attempts: int) -> Decision:
    """Checks a decision's shape: approve and reject stand alone, edit needs the new text,
    retry needs attempts left (feedback is optional but recommended)."""
    if not isinstance(value, dict):
        raise InputError(f"a decision is a mapping like {{'decision': 'approve'}}, got {value!r}")
    kind = value.get("decision")
    if kind not in DECISIONS:
        raise InputError(f"decision must be one of {', '.join(DECISIONS)} (got {kind!r})")
    decision = Decision(decision=kind, reviewer=str(value.get("reviewer") or "anonymous"))
    text = (value.get("text") or "").strip()
    feedback = (value.get("feedback") or "").strip()
    if kind == "edit":
        if not text:
            raise InputError("decision 'edit' needs the new text (--text)")
        decision["text"] = text
    elif text:
        raise InputError(f"--text goes with decision 'edit' only, not {kind!r}")
    if kind == "retry" and attempt >= max_attempts:
        raise InputError(
            f"this task has used all {max_attempts} attempts; approve, edit or reject it"
        )
    if feedback:
        decision["feedback"] = feedback
    return decision
