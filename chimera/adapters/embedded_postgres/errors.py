"""Errors of the embedded PostgreSQL."""

from __future__ import annotations

from chimera.domain.errors import ChimeraError


class EmbeddedPostgresError(ChimeraError):
    """The embedded PostgreSQL server could not be started, reached or stopped."""
