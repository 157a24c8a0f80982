"""The connection pool type Chimera shares with LangGraph's checkpointer: rows as dicts."""

from typing import TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

Pool: TypeAlias = AsyncConnectionPool[AsyncConnection[DictRow]]
