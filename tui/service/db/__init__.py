"""The service's database layer: the ledger on SQLite or PostgreSQL behind one API.

See tui/service/db/base.py for what a module sees, and docs/architecture.md for why
psycopg 3 and why every write takes the ledger's advisory lock on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tui.service.db.base import (
    Connection,
    Database,
    DatabaseAway,
    DatabaseError,
    DatabaseUnavailable,
    Params,
    Result,
    Row,
    WriteLock,
)
from tui.service.db.dialect import columns, has_table, upsert
from tui.service.db.target import PostgresTarget, parse_target, redact

__all__ = [
    "Connection",
    "Database",
    "DatabaseAway",
    "DatabaseError",
    "DatabaseUnavailable",
    "Params",
    "PostgresTarget",
    "Result",
    "Row",
    "WriteLock",
    "columns",
    "database",
    "has_table",
    "parse_target",
    "redact",
    "upsert",
]


def database(target: Path | PostgresTarget) -> Database:
    """The database ``target`` names (not yet open)."""
    if isinstance(target, PostgresTarget):
        from tui.service.db.postgres import PostgresDatabase

        return PostgresDatabase(target)
    from tui.service.db.sqlite import SqliteDatabase

    return SqliteDatabase(target)
