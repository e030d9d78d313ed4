"""Numbered upgrades of an existing ledger, applied in order when it opens, on
SQLite and PostgreSQL alike, inside the one transaction that opening runs
(tui/service/ledger.py): a step that fails leaves the version the ledger had.

``schema.sql`` runs first on every open and creates what is missing (tables and
indexes a fresh ledger needs, in their newest shape); a migration does what
``CREATE ... IF NOT EXISTS`` cannot, such as adding a column to a table an older
version created. Each step checks before it changes, so a ledger whose version was
never written (version 1) upgrades the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tui.service.db import Connection, columns, upsert

#: Version 4 (ignores) has only new tables, which schema.sql creates, and a new error
#: status ('ignored') that an older synchealth would count neither open nor resolved:
#: the version keeps such a synchealth from opening the ledger. No step rewrites rows.
#: Version 6 (named API tokens, the audit trail) is the same: a new table (api_tokens),
#: and new kinds of history rows that an older synchealth's GET /v1/history cannot read.
SCHEMA_VERSION = 7


async def _add_column(conn: Connection, table: str, column: str, decl: str) -> None:
    if column not in await columns(conn, table):
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


async def _to_3(conn: Connection) -> None:
    """Version 3: what a resync sent is kept with its attempt (``attempts.sent``)."""
    await _add_column(conn, "attempts", "sent", "TEXT")


async def _to_5(conn: Connection) -> None:
    """Version 5: daily figures (``trend_days``), counted from the ledger's errors by the
    next catch-up of causes (tui/service/trends.py), which also needs their cause keys."""
    await conn.execute("DELETE FROM trend_days")
    await conn.execute("DELETE FROM meta WHERE key = 'trends_ready'")


async def _to_7(conn: Connection) -> None:
    """Version 7: each resync request's owner, the replica sending it (replicas.py;
    schema.sql creates the ``replicas`` table). A request from before has no owner."""
    await _add_column(conn, "resync_requests", "owner", "TEXT")


#: version -> the step that brings a ledger of the version before it up to it.
MIGRATIONS: dict[int, Callable[[Connection], Awaitable[None]]] = {
    3: _to_3,
    5: _to_5,
    7: _to_7,
}


async def upgrade(conn: Connection, version: int) -> None:
    """Inside a transaction: run every step after ``version`` up to :data:`SCHEMA_VERSION`."""
    for step in range(version + 1, SCHEMA_VERSION + 1):
        migrate = MIGRATIONS.get(step)
        if migrate is not None:
            await migrate(conn)
    await conn.execute(
        upsert("meta", ("key", "value"), ("key",)), ("schema_version", str(SCHEMA_VERSION))
    )
