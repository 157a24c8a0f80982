"""Versioned migrations: numbered SQL files applied once each, in order, under a lock."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from psycopg import AsyncConnection
from psycopg.rows import DictRow

MIGRATIONS_DIR = Path(str(files("chimera.adapters.postgres") / "migrations"))
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant shared by all Chimera processes: serialises concurrent first starts.
_LOCK_ID = 0x43_48_49_4D  # "CHIM"


def migrations(folder: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


async def migrate(conn: AsyncConnection[DictRow], folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations not yet applied; returns their versions. ``conn`` returns
    rows as dicts (the pool Chimera shares with LangGraph's checkpointer does)."""
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS chimera_schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT version FROM chimera_schema_migrations")
        done = {row["version"] for row in await cur.fetchall()}
        for version, path in migrations(folder):
            if version in done:
                continue
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute(
                "INSERT INTO chimera_schema_migrations (version, name) VALUES (%s, %s)",
                (version, path.name),
            )
            applied.append(version)
    return applied
