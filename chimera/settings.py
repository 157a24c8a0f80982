"""Settings from the environment (CHIMERA_*). Secrets stay in the environment: they are
read where they are used and never copied into state, checkpoints or the audit trail."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """``.chimera`` in a checkout (beside pyproject.toml), so a developer's data stays with
    the code; otherwise the user's data folder. As root that is /var/lib/chimera, not
    under /root: the embedded PostgreSQL opens every parent of its data folder to its
    own user, and a home folder should stay closed."""
    checkout = Path(str(files("chimera"))).resolve().parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "graphs").is_dir():
        return checkout / ".chimera"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/chimera")
    return Path(platformdirs.user_data_dir("chimera", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHIMERA_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL in CHIMERA_HOME/pgdata.",
    )
    home: Path = Field(
        default_factory=default_home,
        description="Chimera's own folder: the embedded database, its runtime files, eval "
        "runs. Default: .chimera in a checkout, else the user's data folder.",
    )
    memory_url: str | None = Field(
        default=None,
        description="Long-term memory: unset, the database itself (needs pgvector); "
        "'embedded' for the embedded PostgreSQL; a postgresql:// URL; weaviate://host:port; "
        "or 'memory' for a store that lasts one process.",
    )
    embedded_database: str = Field(
        default="chimera", description="Database name inside the embedded PostgreSQL."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for swarm mode: each task's draft is written by `chimera worker` "
        "processes reading its task stream. Unset: drafts are written in the graph process.",
    )
    redis_prefix: str = Field(
        default="chimera", description="Prefix of every Redis key the swarm uses."
    )
    swarm_visibility_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds without a worker's heartbeat before its task goes to another.",
    )
    swarm_max_deliveries: int = Field(
        default=3,
        ge=1,
        description="Deliveries of a task before it is dead-lettered (a critical failure).",
    )
    swarm_max_queue: int = Field(
        default=10_000, ge=1, description="Most tasks the task stream holds (backpressure)."
    )
    swarm_enqueue_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds an enqueue waits for room in a full task stream before failing.",
    )
