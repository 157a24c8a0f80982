"""Studio actions in the audit trail: every one carries the signed-in user as its actor."""

from __future__ import annotations

from typing import Any

from chimera.adapters.postgres.users import User
from chimera.app.wiring import App
from chimera.domain.effects import AuditEvent
from chimera.domain.roles import require

STUDIO_THREAD = "studio"  # the audit trail's thread for actions on no thread


def actor_of(user: User) -> str:
    return f"human:{user.name}"


async def record(
    app: App,
    user: User,
    event: str,
    *,
    thread_id: str = STUDIO_THREAD,
    task_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    await app.services.audit.record(
        AuditEvent(
            thread_id=thread_id,
            event=event,
            actor=actor_of(user),
            task_id=task_id,
            payload={"via": "studio", **(payload or {})},
        )
    )


def allow(user: User, action: str) -> None:
    """Raises PermissionDenied (an InputError) unless the user's roles allow ``action``."""
    require(user.roles, action, user.name)
