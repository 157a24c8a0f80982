"""A reviewer's decision on an interrupted result, validated before it reaches the graph.

The CLI checks a decision before it resumes a thread; the review node checks every
resume value again (LangGraph's server passes any JSON), and asks again when it is
malformed, so a typo never ruins a thread.
"""

from __future__ import annotations

import reprlib
from typing import Any, cast, get_args

from chimera.domain.errors import InputError
from chimera.domain.types import Decision, DecisionKind

DECISIONS: tuple[str, ...] = get_args(DecisionKind)
FIELDS = ("decision", "text", "feedback", "reviewer")

# Messages quote what they refuse, briefly: they are shown, audited and checkpointed.
_brief = reprlib.Repr()
_brief.maxstring = _brief.maxother = 60
_quote = _brief.repr


def _optional_text(value: dict[str, Any], name: str) -> str:
    raw = value.get(name)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InputError(f"{name!r} must be text, got {type(raw).__name__} {_quote(raw)}")
    return raw.strip()


def parse_decision(value: Any, *, attempt: int, max_attempts: int) -> Decision:
    """Checks a decision's shape: approve and reject stand alone, edit needs the new text,
    retry needs attempts left (feedback is optional but recommended)."""
    if not isinstance(value, dict):
        raise InputError(
            f"a decision is a mapping like {{'decision': 'approve'}}, got {_quote(value)}"
        )
    unknown = sorted(_quote(key) for key in value if key not in FIELDS)
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(unknown)} in the decision; "
            f"a decision has {', '.join(FIELDS)}"
        )
    kind = value.get("decision")
    if not isinstance(kind, str) or kind not in DECISIONS:
        raise InputError(f"decision must be one of {', '.join(DECISIONS)} (got {_quote(kind)})")
    text = _optional_text(value, "text")
    feedback = _optional_text(value, "feedback")
    reviewer = _optional_text(value, "reviewer") or "anonymous"
    decision = Decision(decision=cast(DecisionKind, kind), reviewer=reviewer)
    if kind == "edit":
        if not text:
            raise InputError("decision 'edit' needs the new text ('text'; --text on the CLI)")
        decision["text"] = text
    elif text:
        raise InputError(f"the new text goes with decision 'edit' only, not {kind!r}")
    if kind == "retry" and attempt >= max_attempts:
        raise InputError(
            f"this task has used all {max_attempts} attempts; approve, edit or reject it"
        )
    if feedback:
        decision["feedback"] = feedback
    return decision
