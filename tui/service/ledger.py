"""The error ledger, on SQLite (WAL) or PostgreSQL (tui/service/db).

Writes go through :meth:`Ledger.transaction`: one write transaction at a time across
every process on the database (SQLite: one writer, an ``asyncio.Lock`` and ``BEGIN
IMMEDIATE``; PostgreSQL: ``pg_advisory_xact_lock`` on the ledger's key first), so a
transaction reads ``MAX(seq)`` only after the one before it committed: change
sequence numbers commit in order, the change feed never skips a row that commits
late, and a reader never sees half a resync. Reads see the last committed state, one
job per statement.

A little over ~400 lines on purpose: every write of the error ledger goes through the
one writer and its transaction rule above; what the sync engine reports already lives
in ``ledger_reports``, and cutting the rest would split that rule across modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from tui.core.models import ERROR_COLUMNS
from tui.service.db import (
    Connection,
    Database,
    DatabaseError,
    PostgresTarget,
    WriteLock,
    database,
    has_table,
    upsert,
)
from tui.service.db.base import LEDGER, Dialect
from tui.service.db.dialect import postgres_schema, statements
from tui.service.migrations import SCHEMA_VERSION, upgrade

#: Columns the change feed selects: ``ERROR_COLUMNS``, the API's order of a row.
FEED_COLUMNS = ", ".join(ERROR_COLUMNS)
_FIELDS_AT = ERROR_COLUMNS.index("fields")
#: The cause key of an ``errors`` row as the cause index has it, if it is of the row's
#: latest change (tui/service/causes.py), else null: the feed's and snapshot's last column.
CAUSE_OF_ROW = (
    "(SELECT c.cause FROM error_causes c WHERE c.error_id = errors.id AND c.seq = errors.seq)"
)

#: Finds the error a reported failure repeats. Built when the ledger opens rather than
#: in schema.sql, so a bulk load (the demo builder) does not maintain it row by row:
#: building it afterwards takes about 2 s at 1,000,000 errors (measured 1.7-2.3 s), once.
RECORD_INDEX = (
    "CREATE INDEX IF NOT EXISTS errors_by_record "
    "ON errors(object_type, record_id, direction, subtype)"
)

#: One attempt of an error: (error_id, at, outcome, sf_code, message, request_id).
INSERT_ATTEMPT = (
    "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
#: (key, JSON value) of a setting; (key, value) of the ledger's meta.
SET_SETTING = upsert("settings", ("key", "value"), ("key",))
SET_META = upsert("meta", ("key", "value"), ("key",))


def schema_sql() -> str:
    """The ledger's tables (``schema.sql``), as every writer of a ledger creates them."""
    return resources.files("tui.service").joinpath("schema.sql").read_text("utf-8")


def schema_statements(dialect: Dialect) -> list[str]:
    """``schema.sql``'s statements, for the engine ``dialect`` names."""
    found = statements(schema_sql())
    return [postgres_schema(s) for s in found] if dialect == "postgresql" else found


async def stored_version(conn: Connection) -> int | None:
    """The ledger's schema version; None for a new database or one never versioned."""
    if not await has_table(conn, "meta"):
        return None
    value = await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'")
    return None if value is None else int(value)


#: The actor of what the service does by itself (history: an ignore that expires).
SERVICE_ACTOR = "synchealth"


#: The ledger cannot be used; the message says why (never with a password).
LedgerError = DatabaseError


def iso(moment: datetime) -> str:
    """The ledger's time format: ISO-8601 UTC to the second, ending in ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class StoredRequest:
    request_id: str
    state: str  # started | done | interrupted
    error_ids: list[int]
    result: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ResyncRow:
    """What the resync engine needs to know about one error."""

    id: int
    status: str
    type: str
    subtype: str
    sf_code: str
    message: str
    fields: list[str]
    payload: dict[str, Any]
    last_seen: str


@dataclass(frozen=True, slots=True)
class ErrorChange:
    """The new state of an error after a resync attempt.

    A synced error keeps its type, code and message (what was wrong) and becomes
    resolved; its attempt row carries no code or message.
    """

    id: int
    outcome: str  # synced | failed
    type: str
    subtype: str
    sf_code: str
    message: str
    fields: list[str]
    sent: dict[str, Any] | None = None  # the record sent to Salesforce; None: not sent


class Ledger:
    """The error ledger on the database ``target`` names (see :mod:`tui.service.db`)."""

    def __init__(self, target: Path | PostgresTarget) -> None:
        self.target = target
        self.db: Database = database(target)

    @property
    def path(self) -> Path:
        """The SQLite file (tests and the demo builder write SQLite files only)."""
        if not isinstance(self.target, Path):
            raise LedgerError(f"the ledger {self.db.describe()} is not a file")
        return self.target

    async def open(self) -> None:
        await self.db.open()
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def _migrate(self) -> None:
        """Create what is missing and run the numbered steps, in one write transaction:
        a step that fails leaves the ledger at the version it had. Both locks: a step
        may rewrite the cause index's tables too."""
        async with self.transaction(("ledger", "causes")) as conn:
            version = await stored_version(conn)
            if version is not None and version > SCHEMA_VERSION:
                raise LedgerError(
                    f"the ledger {self.db.describe()} has schema version {version}, newer "
                    f"than this synchealth understands ({SCHEMA_VERSION}); upgrade synchealth "
                    "(two replicas of different versions on one database: the older one "
                    "refuses to start)"
                )
            for statement in schema_statements(self.db.dialect):
                await conn.execute(statement)
            await conn.execute(RECORD_INDEX)
            if version is None or version < SCHEMA_VERSION:
                # the schema has just created the tables an older version lacked.
                await upgrade(conn, version or 1)

    async def close(self) -> None:
        await self.db.close()

    @property
    def reader(self) -> Connection:
        """Reads, one job per statement (:attr:`Database.reader`)."""
        return self.db.reader

    def transaction(
        self, locks: tuple[WriteLock, ...] = LEDGER
    ) -> AbstractAsyncContextManager[Connection]:
        """The one write transaction at a time (per lock of ``locks``); commits on success."""
        return self.db.transaction(locks)

    # -- meta and settings -------------------------------------------------

    async def meta(self, key: str, conn: Connection | None = None) -> str | None:
        value = await (conn or self.reader).fetchval("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def setting(self, key: str) -> Any:
        value = await self.reader.fetchval("SELECT value FROM settings WHERE key = ?", (key,))
        return None if value is None else orjson.loads(value)

    async def set_setting(self, key: str, value: Any) -> None:
        async with self.transaction() as conn:
            await conn.execute(SET_SETTING, (key, orjson.dumps(value).decode()))

    # -- change feed and details -------------------------------------------

    async def feed(self, cursor: int, limit: int) -> tuple[list[tuple[Any, ...]], int, bool]:
        """Rows changed after ``cursor``, oldest change first, and the next cursor.

        ``fields`` is passed through as an :class:`orjson.Fragment` of the stored JSON
        list, so serialising a page costs no per-row decoding.
        """
        async with self.reader.execute(
            f"SELECT {FEED_COLUMNS}, {CAUSE_OF_ROW} FROM errors WHERE seq > ? ORDER BY seq LIMIT ?",
            (cursor, limit + 1),
        ) as cur:
            rows = list(await cur.fetchall())
        has_more = len(rows) > limit
        if has_more:
            rows = rows[:limit]
        fragment = orjson.Fragment
        out = [(*r[:_FIELDS_AT], fragment(r[_FIELDS_AT]), *r[_FIELDS_AT + 1 :]) for r in rows]
        return out, (rows[-1][1] if rows else cursor), has_more

    async def changed_after(self, cursor: int) -> int:
        """Rows the feed still holds after ``cursor`` (a range count of the seq index)."""
        async with self.reader.execute(
            "SELECT count(*) FROM errors WHERE seq > ?", (cursor,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def error(self, error_id: int) -> dict[str, Any] | None:
        """One error with its attempt history, as ``SyncErrorDetail`` wants it."""
        row = await self.reader.fetchone(
            f"SELECT {FEED_COLUMNS} FROM errors WHERE id = ?", (error_id,)
        )
        if row is None:
            return None
        detail = dict(zip(ERROR_COLUMNS, row, strict=True))
        detail["fields"] = orjson.loads(detail["fields"])
        async with self.reader.execute(
            "SELECT at, outcome, sf_code, message, request_id, sent FROM attempts "
            "WHERE error_id = ? ORDER BY at, rowid",
            (error_id,),
        ) as cur:
            detail["history"] = [
                {"at": a, "outcome": o, "sf_code": c, "message": m, "request_id": r,
                 "sent": None if sent is None else orjson.loads(sent)}
                for a, o, c, m, r, sent in await cur.fetchall()
            ]  # fmt: skip
        return detail

    async def resync_rows(self, ids: Sequence[int]) -> dict[int, ResyncRow]:
        marks = ",".join("?" * len(ids))
        async with self.reader.execute(
            "SELECT id, status, type, subtype, sf_code, message, fields, payload, last_seen "
            f"FROM errors WHERE id IN ({marks})",
            tuple(ids),
        ) as cur:
            rows = await cur.fetchall()
        return {
            r[0]: ResyncRow(
                r[0], r[1], r[2], r[3], r[4], r[5], orjson.loads(r[6]), orjson.loads(r[7]), r[8]
            )
            for r in rows
        }

    # -- resync bookkeeping -------------------------------------------------

    async def request(
        self, request_id: str, conn: Connection | None = None
    ) -> StoredRequest | None:
        async with (conn or self.reader).execute(
            "SELECT state, error_ids, result FROM resync_requests WHERE request_id = ?",
            (request_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        result = orjson.loads(row[2]) if row[2] else None
        return StoredRequest(request_id, row[0], orjson.loads(row[1]), result)

    async def start_request(
        self, request_id: str, error_ids: Sequence[int], now: datetime, owner: str | None = None
    ) -> StoredRequest | None:
        """Write the request as 'started' before anything is sent to Salesforce; or, when
        the request_id is already stored (another replica took it first), that request.

        Looked up inside the write transaction, so of two replicas given the same
        request_id at once exactly one starts it."""
        async with self.transaction() as conn:
            stored = await self.request(request_id, conn)
            if stored is None:
                await Ledger.record_request(conn, request_id, error_ids, now, owner)
            return stored

    @staticmethod
    async def record_request(
        conn: Connection,
        request_id: str,
        error_ids: Sequence[int],
        now: datetime,
        owner: str | None = None,
    ) -> None:
        """Inside a transaction: the request, 'started' (``finish_request`` ends it);
        ``owner`` is the replica sending it (tui/service/replicas.py)."""
        await conn.execute(
            "INSERT INTO resync_requests(request_id, created, state, error_ids, owner) "
            "VALUES (?, ?, 'started', ?, ?)",
            (request_id, iso(now), orjson.dumps(list(error_ids)).decode(), owner),
        )

    async def forget_request(self, request_id: str) -> None:
        """Drop a started request that Salesforce refused before changing anything."""
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM resync_requests WHERE request_id = ?", (request_id,))

    async def interrupt_request(self, request_id: str) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE resync_requests SET state = 'interrupted' WHERE request_id = ?",
                (request_id,),
            )

    @staticmethod
    async def apply_changes(
        conn: Connection,
        changes: Iterable[ErrorChange],
        request_id: str,
        now: datetime,
    ) -> None:
        """Inside a transaction: update errors, give each a new seq, add attempt rows.

        The next seq is ``MAX(seq) + 1`` (an index lookup) so it is right whoever wrote
        the ledger; ``meta.next_seq`` is kept in step for readers of the meta table.
        """
        at = iso(now)
        seq = await last_seq(conn)
        updates, attempts = [], []
        for change in changes:
            seq += 1
            status = "resolved" if change.outcome == "synced" else "open"
            updates.append(
                (
                    seq,
                    status,
                    change.type,
                    change.subtype,
                    change.sf_code,
                    change.message,
                    orjson.dumps(change.fields).decode(),
                    at,
                    change.id,
                )
            )
            failed = change.outcome == "failed"
            attempts.append(
                (
                    change.id,
                    at,
                    change.outcome,
                    change.sf_code if failed else "",
                    change.message if failed else "",
                    request_id,
                    None if change.sent is None else orjson.dumps(change.sent).decode(),
                )
            )
        await conn.executemany(
            "UPDATE errors SET seq = ?, status = ?, type = ?, subtype = ?, sf_code = ?, "
            "message = ?, fields = ?, last_seen = ?, attempts = attempts + 1 WHERE id = ?",
            updates,
        )
        await conn.executemany(
            "INSERT INTO attempts(error_id, at, outcome, sf_code, message, request_id, sent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            attempts,
        )
        await store_next_seq(conn, seq)

    @staticmethod
    async def finish_request(conn: Connection, request_id: str, result: dict[str, Any]) -> None:
        await conn.execute(
            "UPDATE resync_requests SET state = 'done', result = ? WHERE request_id = ?",
            (orjson.dumps(result).decode(), request_id),
        )

    @staticmethod
    async def set_status(conn: Connection, ids: Sequence[int], status: str) -> None:
        """Inside a transaction: give ``ids`` the status, each with a new seq (the feed)."""
        seq = await last_seq(conn)
        await conn.executemany(
            "UPDATE errors SET seq = ?, status = ? WHERE id = ?",
            [(seq + n, status, error_id) for n, error_id in enumerate(ids, 1)],
        )
        await store_next_seq(conn, seq + len(ids))

    @staticmethod
    async def add_history(
        conn: Connection, at: datetime, kind: str, ref: str | None, actor: str,
        summary: dict[str, Any],
    ) -> None:  # fmt: skip
        """Inside a transaction: one row of the history (tui/service/history.py)."""
        await conn.execute(
            "INSERT INTO history(at, kind, ref, actor, summary) VALUES (?, ?, ?, ?, ?)",
            (iso(at), kind, ref, actor, orjson.dumps(summary).decode()),
        )


async def end_ignores(conn: Connection, ids: Sequence[int]) -> None:
    """The errors ``ids`` are no longer ignored (their status is set by the caller)."""
    await conn.executemany(
        "DELETE FROM ignored_errors WHERE error_id = ?", [(error_id,) for error_id in ids]
    )


async def last_seq(conn: Connection) -> int:
    """The largest seq handed out (an index lookup, right whoever wrote the ledger)."""
    return int(await conn.fetchval("SELECT COALESCE(MAX(seq), 0) FROM errors") or 0)


async def store_next_seq(conn: Connection, last: int) -> None:
    """Keep ``meta.next_seq`` in step for readers of the meta table."""
    await conn.send(SET_META, ("next_seq", str(last + 1)))
