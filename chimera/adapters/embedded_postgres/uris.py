"""PostgreSQL URIs: the embedded server's socket URI, another database on a server, and
creating that database when it is missing (any PostgreSQL, not only the embedded one)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

log = logging.getLogger("chimera.postgres")

DEFAULT_USER = "postgres"


def ensure_database(server_uri: str, name: str) -> str:
    """Create database ``name`` on the server at ``server_uri`` if missing; return its URI.

    Works for any PostgreSQL URI or key=value conninfo, not only the embedded server.
    psycopg errors (unreachable server, missing privilege) propagate unchanged.
    """
    import psycopg
    from psycopg import errors, sql

    # CREATE DATABASE refuses to run inside a transaction block: autocommit.
    with psycopg.connect(server_uri, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("Created database %s", name)
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                pass  # another process created it between our check and our CREATE
    return with_database(server_uri, name)


def socket_uri(socket_dir: Path, port: int, database: str) -> str:
    # Quoted: the library's own get_uri() breaks on folders with spaces or '&'.
    host = quote(str(socket_dir), safe="/")
    return f"postgresql://{DEFAULT_USER}@/{quote(database, safe='')}?host={host}&port={port}"


def with_database(uri: str, name: str) -> str:
    if uri.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(uri)
        return urlunsplit(parts._replace(path="/" + quote(name, safe="")))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(uri, dbname=name)
