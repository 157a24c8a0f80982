"""Node prompts kept as versions in PostgreSQL. The files in prompts/<node>/vN.md are the
seed versions (written once, with their own numbers); the studio saves new versions and
promotes one per node to the default a run uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chimera.adapters.postgres.types import Pool
from chimera.domain.errors import InputError
from chimera.graphs.prompts import load_prompt, prompt_versions

NODES = ("planner", "worker", "judge")
MAX_PROMPT_CHARS = 20_000


@dataclass(frozen=True)
class PromptVersion:
    node: str
    version: int
    text: str
    source: str
    created_by: str
    created_at: str


def _row(row: dict[str, Any]) -> PromptVersion:
    return PromptVersion(
        row["node"], row["version"], row["text"], row["source"], row["created_by"],
        row["created_at"].isoformat(),
    )  # fmt: skip


def _check_node(node: str) -> None:
    if node not in NODES:
        raise InputError(f"unknown node {node!r}: prompts exist for {', '.join(NODES)}")


class PromptStore:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def seed(self) -> None:
        """Writes the prompt files as versions once; never overwrites a stored version."""
        async with self._pool.connection() as conn:
            for node in NODES:
                for version in prompt_versions(node):
                    await conn.execute(
                        "INSERT INTO chimera_prompts (node, version, text, source, created_by)"
                        " VALUES (%s, %s, %s, %s, 'seed') ON CONFLICT DO NOTHING",
                        (node, version, load_prompt(node, version), f"{node}/v{version}.md"),
                    )

    async def versions(self, node: str) -> list[PromptVersion]:
        _check_node(node)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM chimera_prompts WHERE node = %s ORDER BY version", (node,)
            )
            return [_row(r) for r in await cur.fetchall()]

    async def get(self, node: str, version: int) -> PromptVersion:
        _check_node(node)
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM chimera_prompts WHERE node = %s AND version = %s", (node, version)
            )
            row = await cur.fetchone()
        if row is None:
            raise InputError(f"prompt {node!r} has no version {version}")
        return _row(row)

    async def save(self, node: str, text: str, author: str) -> PromptVersion:
        """A new version (one past the highest), never an overwrite."""
        _check_node(node)
        text = text.strip()
        if not text:
            raise InputError("the prompt is empty")
        if len(text) > MAX_PROMPT_CHARS:
            raise InputError(f"the prompt is {len(text)} characters; at most {MAX_PROMPT_CHARS}")
        async with self._pool.connection() as conn, conn.transaction():
            # Serialises two saves of one node so each gets its own number.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"prompt:{node}",))
            cur = await conn.execute(
                "INSERT INTO chimera_prompts (node, version, text, created_by)"
                " SELECT %s, coalesce(max(version), 0) + 1, %s, %s FROM chimera_prompts"
                " WHERE node = %s RETURNING *",
                (node, text + "\n", author, node),
            )
            row = await cur.fetchone()
        assert row is not None
        return _row(row)

    async def promote(self, node: str, version: int, author: str) -> None:
        await self.get(node, version)
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO chimera_prompt_defaults (node, version, promoted_by)"
                " VALUES (%s, %s, %s) ON CONFLICT (node) DO UPDATE SET version = excluded.version,"
                " promoted_by = excluded.promoted_by, promoted_at = now()",
                (node, version, author),
            )

    async def defaults(self) -> dict[str, int]:
        """Each node's default version: the promoted one, else the highest seed file."""
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT node, version FROM chimera_prompt_defaults")
            promoted = {r["node"]: r["version"] for r in await cur.fetchall()}
        return {n: promoted.get(n) or max(prompt_versions(n)) for n in NODES}

    async def texts(self, chosen: dict[str, int]) -> dict[str, str]:
        """``{node: version}`` -> ``{node: text}``, every version checked to exist."""
        return {node: (await self.get(node, v)).text for node, v in chosen.items()}
