"""A reviewer's decision on an interrupted result, validated before it reaches the graph.

The CLI checks a decision before it resumes a thread; the review node checks every
resume value again (LangGraph's server passes any JSON), and asks again when it is
malformed, so a typo never ruins a thread.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any, Protocol, cast, get_args

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


@dataclass(frozen=True)
class RecordedDecision:
    """A decision as it stands in the durable record: the first one given for an interrupt.

    ``state`` is ``recorded`` until the graph has resumed with it, then ``applied``."""

    thread_id: str
    interrupt_id: str
    task_id: str
    attempt: int
    decision: Decision
    state: str
    decided_at: str

    def is_for(self, task_id: object, attempt: object) -> bool:
        """Given for this attempt of this task: an interrupt LangGraph later gives the same
        id (another attempt) is not answered by it."""
        return (self.task_id, self.attempt) == (task_id, attempt)

    def describe(self) -> str:
        reviewer = self.decision.get("reviewer", "anonymous")
        return f"{self.decision['decision']} by {reviewer} at {self.decided_at}"


class DecisionLog(Protocol):
    """Where decisions are recorded before the graph resumes (PostgreSQL in production)."""

    async def record(
        self, thread_id: str, interrupt_id: str, task_id: str, attempt: int, decision: Decision
    ) -> tuple[RecordedDecision, bool]: ...

    async def get(self, thread_id: str, interrupt_id: str) -> RecordedDecision | None: ...

    async def unapplied(self, thread_id: str) -> list[RecordedDecision]: ...

    async def mark_applied(self, thread_id: str, interrupt_ids: list[str]) -> None: ...


def same_decision(a: Decision, b: Decision) -> bool:
    """The same answer from the same reviewer: a repeated command, not a rival decision."""
    keys = ("decision", "reviewer", "text", "feedback")
    return all(a.get(k) == b.get(k) for k in keys)


def check_not_decided(standing: RecordedDecision, attempted: Decision) -> None:
    """A second decision on an item already decided is refused, naming the one that stands;
    the very same decision again is accepted (it completes a resume that was cut short)."""
    if not same_decision(standing.decision, attempted):
        raise InputError(
            f"item {standing.interrupt_id} ({standing.task_id}) was already decided: "
            f"{standing.describe()}; your {attempted['decision']!r} was not applied"
        )
