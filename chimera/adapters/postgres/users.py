"""Studio users in PostgreSQL: argon2 password hashes, sessions that expire, and a limit
on failed sign-ins per user name."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import InputError
from chimera.domain.roles import check_roles

SESSION_TTL = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
_hasher = PasswordHasher()


class SignInError(InputError):
    """Wrong name or password, a rate-limited name, or an expired session."""


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    def __init__(
        self, pool: Pool, *, session_ttl: timedelta = SESSION_TTL, max_failures: int = MAX_FAILURES
    ) -> None:
        self._pool = pool
        self.session_ttl = session_ttl
        self.max_failures = max_failures

    async def add(self, name: str, password: str, roles: list[str]) -> User:
        if not _NAME.match(name):
            raise InputError(f"user name {name!r}: 2-32 lowercase letters, digits, '.', '_' or '-'")
        if len(password) < MIN_PASSWORD:
            raise InputError(f"the password needs at least {MIN_PASSWORD} characters")
        checked = check_roles(roles)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO chimera_users (name, password_hash, roles) VALUES (%s, %s, %s)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, _hasher.hash(password), checked),
            )
            if await cur.fetchone() is None:
                raise InputError(f"user {name!r} exists already")
        return User(name, tuple(checked))

    async def list(self) -> list[User]:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT name, roles FROM chimera_users ORDER BY name")
            rows = await cur.fetchall()
        return [User(r["name"], tuple(r["roles"])) for r in rows]

    async def count(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM chimera_users")
            row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def sign_in(self, name: str, password: str) -> tuple[User, str]:
        """A session token for a right name and password. Failures are counted per name;
        past ``max_failures`` in the window, even a right password is refused."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) AS n FROM chimera_signin_failures"
                " WHERE user_name = %s AND at > now() - %s",
                (name, FAILURE_WINDOW),
            )
            row = await cur.fetchone()
            if row and row["n"] >= self.max_failures:
                minutes = int(FAILURE_WINDOW.total_seconds() // 60)
                raise SignInError(
                    f"too many failed sign-ins for {name!r}: try again in {minutes} minutes"
                )
            cur = await conn.execute(
                "SELECT name, password_hash, roles FROM chimera_users WHERE name = %s", (name,)
            )
            user = await cur.fetchone()
            ok = False
            if user is not None:
                try:
                    ok = _hasher.verify(user["password_hash"], password)
                except (VerificationError, InvalidHashError):
                    ok = False
            if user is None or not ok:
                await conn.execute(
                    "INSERT INTO chimera_signin_failures (user_name) VALUES (%s)", (name,)
                )
                raise SignInError("wrong user name or password")
            token = secrets.token_urlsafe(32)
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO chimera_sessions (token_hash, user_name, expires_at)"
                    " VALUES (%s, %s, now() + %s)",
                    (_token_hash(token), name, self.session_ttl),
                )
                await conn.execute(
                    "DELETE FROM chimera_signin_failures WHERE user_name = %s", (name,)
                )
                await conn.execute("DELETE FROM chimera_sessions WHERE expires_at < now()")
        return User(user["name"], tuple(user["roles"])), token

    async def session_user(self, token: str | None) -> User | None:
        """The user of a live session; None for no token, an unknown or an expired one."""
        if not token:
            return None
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT u.name, u.roles FROM chimera_sessions s"
                " JOIN chimera_users u ON u.name = s.user_name"
                " WHERE s.token_hash = %s AND s.expires_at > now()",
                (_token_hash(token),),
            )
            row = await cur.fetchone()
        return User(row["name"], tuple(row["roles"])) if row else None

    async def sign_out(self, token: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "DELETE FROM chimera_sessions WHERE token_hash = %s", (_token_hash(token),)
            )
