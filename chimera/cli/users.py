"""``chimera user``: studio users (the first admin is made here)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from chimera.cli.support import JsonOpt, emit_json, execute, out

user_app = typer.Typer(help="Studio users: add one, list them.", no_args_is_help=True)
PASSWORD_ENV = "CHIMERA_USER_PASSWORD"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (lowercase letters, digits, . _ -).")],
    admin: Annotated[bool, typer.Option("--admin", help="May do everything.")] = False,
    role: Annotated[
        list[str] | None, typer.Option(help="reviewer or prompt_engineer (repeatable).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a studio user. The password is asked for (or read with --password-stdin, or
    from CHIMERA_USER_PASSWORD); only its argon2 hash is stored."""
    roles = [*(role or []), *(["admin"] if admin else [])]
    password = _password(password_stdin)

    async def work() -> dict[str, Any]:
        from chimera.adapters.postgres.database import Database
        from chimera.adapters.postgres.users import UserStore

        db = await Database.open()
        try:
            user = await UserStore(db.pool).add(name, password, roles)
        finally:
            await db.close()
        return {"name": user.name, "roles": list(user.roles)}

    added = execute(work)
    emit_json(added) if as_json else out.print(
        f"added {added['name']} ({', '.join(added['roles'])})"
    )


@user_app.command("list")
def list_users(as_json: JsonOpt = False) -> None:
    """Studio users and their roles."""

    async def work() -> list[dict[str, Any]]:
        from chimera.adapters.postgres.database import Database
        from chimera.adapters.postgres.users import UserStore

        db = await Database.open()
        try:
            return [
                {"name": u.name, "roles": list(u.roles)} for u in await UserStore(db.pool).list()
            ]
        finally:
            await db.close()

    rows = execute(work)
    if as_json:
        emit_json(rows)
    for row in [] if as_json else rows:
        out.print(f"{row['name']}  {', '.join(row['roles'])}")
