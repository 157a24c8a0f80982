"""Studio roles and what each may do. An admin may do everything."""

from __future__ import annotations

from chimera.domain.errors import InputError

ROLES = ("reviewer", "prompt_engineer", "admin")

# action -> roles that may take it (admin is implied everywhere)
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "run": frozenset({"reviewer", "prompt_engineer"}),
    "resume": frozenset({"reviewer"}),
    "review_posts": frozenset({"reviewer"}),
    "fork": frozenset({"reviewer", "prompt_engineer"}),
    "edit_prompts": frozenset({"prompt_engineer"}),
    "replay": frozenset({"prompt_engineer"}),
    "edit_personas": frozenset({"prompt_engineer"}),
    "manage_users": frozenset(),
}


class PermissionDenied(InputError):
    """A signed-in user asked for an action their roles do not allow."""


def check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InputError(f"unknown role(s) {', '.join(unknown)}: roles are {', '.join(ROLES)}")
    if not roles:
        raise InputError(f"give at least one role: {', '.join(ROLES)}")
    return sorted(set(roles))


def may(roles: list[str] | tuple[str, ...], action: str) -> bool:
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action!r}")
    return "admin" in roles or bool(PERMISSIONS[action] & set(roles))


def require(roles: list[str] | tuple[str, ...], action: str, who: str) -> None:
    if not may(roles, action):
        raise PermissionDenied(
            f"{who} may not {action.replace('_', ' ')} (roles: {', '.join(roles) or 'none'})"
        )
