"""A database of a test's own on the external PostgreSQL, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from chimera.adapters.embedded_postgres.uris import ensure_database


@contextmanager
def throwaway_database(server: str, prefix: str) -> Iterator[str]:
    """Creates ``<prefix>_<random>`` on ``server``, yields its URL, drops it (with FORCE:
    a killed process's connections may linger)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    url = ensure_database(server, name)
    try:
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
