"""The error ledger: SQLite (WAL) with one writer and one reader connection.

Writes go through :meth:`Ledger.transaction`, which holds an ``asyncio.Lock`` and a
``BEGIN IMMEDIATE`` transaction, so change sequence numbers are handed out in commit
order and a reader never sees half a resync. Reads use their own connection and see
the last committed state.

A little over ~400 lines on purpose: every write of the error ledger goes through the
one writer and its transaction rule above; what the sync engine reports already lives
in ``ledger_reports``, and cutting the rest would split that rule across modules.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from tui.core.models import ERROR_COLUMNS
from tui.service.migrations import SCHEMA_VERSION, upgrade

#: Columns the change feed selects: ``ERROR_COLUMNS``, the API's order of a row.
FEED_COLUMNS = ", ".join(ERROR_COLUMNS)
_FIELDS_AT = ERROR_COLUMNS.index("fields")

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
SET_SETTING = "INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)"
SET_META = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"


def schema_sql() -> str:
    """The ledger's tables (``schema.sql``), as every writer of a ledger creates them."""
    return resources.files("tui.service").joinpath("schema.sql").read_text("utf-8")


#: The actor of what the service does by itself (history: an ignore that expires).
SERVICE_ACTOR = "synchealth"


class LedgerError(Exception):
    """The ledger file cannot be used; the message says why."""


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
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._migrate()
            self._reader = await self._connect()
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from exc
        except BaseException:
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            await conn.close()  # else its thread keeps a failed start from exiting
            raise
        return conn

    async def _migrate(self) -> None:
        assert self._writer is not None
        await self._writer.executescript(schema_sql())
        await self._writer.execute(RECORD_INDEX)
        version = await self.meta("schema_version", conn=self._writer)
        if version is not None and int(version) > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema version {version}, newer than this "
                f"synchealth understands ({SCHEMA_VERSION}); upgrade synchealth"
            )
        if version is None or int(version) < SCHEMA_VERSION:
            # schema.sql has just created the tables an older version lacked.
            async with self.transaction() as conn:
                await upgrade(conn, int(version or 1))

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise LedgerError("the ledger is not open")
        return self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer connection inside ``BEGIN IMMEDIATE``; commits on success."""
        if self._writer is None:
            raise LedgerError("the ledger is not open")
        async with self._lock:
            conn = self._writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    # -- meta and settings -------------------------------------------------

    async def meta(self, key: str, conn: aiosqlite.Connection | None = None) -> str | None:
        async with (conn or self.reader).execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def setting(self, key: str) -> Any:
        async with self.reader.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else orjson.loads(row[0])

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
            f"SELECT {FEED_COLUMNS} FROM errors WHERE seq > ? ORDER BY seq LIMIT ?",
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
        async with self.reader.execute(
            f"SELECT {FEED_COLUMNS} FROM errors WHERE id = ?", (error_id,)
        ) as cur:
            row = await cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            return None
        detail = dict(zip(names, row, strict=True))
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
        self, request_id: str, conn: aiosqlite.Connection | None = None
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
        conn: aiosqlite.Connection,
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
        conn: aiosqlite.Connection,
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
    async def finish_request(
        conn: aiosqlite.Connection, request_id: str, result: dict[str, Any]
    ) -> None:
        await conn.execute(
            "UPDATE resync_requests SET state = 'done', result = ? WHERE request_id = ?",
            (orjson.dumps(result).decode(), request_id),
        )

    @staticmethod
    async def set_status(conn: aiosqlite.Connection, ids: Sequence[int], status: str) -> None:
        """Inside a transaction: give ``ids`` the status, each with a new seq (the feed)."""
        seq = await last_seq(conn)
        await conn.executemany(
            "UPDATE errors SET seq = ?, status = ? WHERE id = ?",
            [(seq + n, status, error_id) for n, error_id in enumerate(ids, 1)],
        )
        await store_next_seq(conn, seq + len(ids))

    @staticmethod
    async def add_history(
        conn: aiosqlite.Connection, at: datetime, kind: str, ref: str | None, actor: str,
        summary: dict[str, Any],
    ) -> None:  # fmt: skip
        """Inside a transaction: one row of the history (tui/service/history.py)."""
        await conn.execute(
            "INSERT INTO history(at, kind, ref, actor, summary) VALUES (?, ?, ?, ?, ?)",
            (iso(at), kind, ref, actor, orjson.dumps(summary).decode()),
        )


async def end_ignores(conn: aiosqlite.Connection, ids: Sequence[int]) -> None:
    """The errors ``ids`` are no longer ignored (their status is set by the caller)."""
    await conn.executemany(
        "DELETE FROM ignored_errors WHERE error_id = ?", [(error_id,) for error_id in ids]
    )


async def last_seq(conn: aiosqlite.Connection) -> int:
    """The largest seq handed out (an index lookup, right whoever wrote the ledger)."""
    async with conn.execute("SELECT COALESCE(MAX(seq), 0) FROM errors") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def store_next_seq(conn: aiosqlite.Connection, last: int) -> None:
    """Keep ``meta.next_seq`` in step for readers of the meta table."""
    await conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('next_seq', ?)", (str(last + 1),)
    )
