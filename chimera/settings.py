"""Settings from the environment (CHIMERA_*). Secrets stay in the environment: they are
read where they are used and never copied into state, checkpoints or the audit trail."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHIMERA_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL in CHIMERA_HOME/pgdata.",
    )
    home: Path = Field(
        default=Path(".chimera"),
        description="Chimera's own folder: the embedded database and its runtime files.",
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
