"""The ledger on a SQLite file (WAL): one writer connection and one reader.

Writes hold an ``asyncio.Lock`` and ``BEGIN IMMEDIATE``, so one transaction writes at
a time and change sequence numbers commit in order. The reader runs each statement
and its fetch as one job on its thread (``execute_fetchall``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from tui.service.db.base import (
    LEDGER,
    Connection,
    Database,
    DatabaseError,
    Params,
    Result,
    WriteLock,
)


class _Reader(Connection):
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _run(self, sql: str, params: Params) -> Result:
        try:
            return Result([tuple(r) for r in await self._conn.execute_fetchall(sql, params)])
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc

    async def _run_many(self, sql: str, rows: Iterable[Params]) -> None:
        raise DatabaseError("the reader does not write")

    async def rows_database(self, columns: Sequence[str], select: str, params: Params) -> bytes:
        """Copied by SQLite into a temp table, which ends this read transaction: no
        Python object per row. Only on the snapshot's connection (``temp_store`` in
        memory, closed after)."""
        conn = self._conn
        try:
            await conn.execute(f"CREATE TEMP TABLE snapshot_rows AS {select}", params)
            await conn.execute("COMMIT")  # serialized as committed
            # aiosqlite has no serialize: the sqlite3 connection's, on its thread
            data: bytes = await conn._execute(conn._conn.serialize, name="temp")  # type: ignore[no-untyped-call]
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc
        return data


class _Writer(Connection):
    """The writer inside its transaction: nobody else uses it meanwhile."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _run(self, sql: str, params: Params) -> Result:
        try:
            async with self._conn.execute(sql, params) as cur:
                rows = [tuple(r) for r in await cur.fetchall()]
                return Result(rows, cur.rowcount)
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc

    async def insert_rows(self, sql: str, rows: Iterable[Params]) -> None:
        """One ``executemany``: SQLite steps its one prepared statement in C, in one
        call to the connection's thread, where each multi-row statement takes several
        (execute, fetch, close): 200 rows cost 1.2-1.6x the CPU that way."""
        await self.executemany(sql, rows)

    async def _run_many(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            await self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise DatabaseError(str(exc)) from exc


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: _Reader | None = None
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await _connect(self.path)
            await self._writer.execute_fetchall("PRAGMA journal_mode=WAL")
            self._reader = _Reader(await _connect(self.path))
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise DatabaseError(f"cannot open the ledger {self.path}: {exc}") from exc
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader._conn.close()
        if self._writer is not None:
            await self._writer.close()
        self._reader = self._writer = None

    @property
    def reader(self) -> Connection:
        if self._reader is None:
            raise DatabaseError("the ledger is not open")
        return self._reader

    @asynccontextmanager
    async def transaction(self, locks: tuple[WriteLock, ...] = LEDGER) -> AsyncIterator[Connection]:
        # one writer: every transaction excludes every other, whatever ``locks`` names
        if self._writer is None:
            raise DatabaseError("the ledger is not open")
        async with self._lock:
            conn = self._writer
            try:
                # inside the try: a task cancelled while BEGIN runs (a loop stopped)
                # must not leave the writer in a transaction no one ends
                await conn.execute("BEGIN IMMEDIATE")
                yield _Writer(conn)
            except BaseException:
                # queued after the BEGIN (aiosqlite runs one statement after the other),
                # so it ends the transaction even when BEGIN had not run yet
                with contextlib.suppress(sqlite3.OperationalError):  # none was begun
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Connection]:
        """A read-only connection of its own in one read transaction, closed after."""
        try:
            conn = await aiosqlite.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the ledger {self.path}: {exc}") from exc
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA temp_store = MEMORY")  # rows_database's table
            await conn.execute("BEGIN")
            yield _Reader(conn)
        finally:
            await conn.close()  # ends the read transaction


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute_fetchall("PRAGMA busy_timeout=5000")
        await conn.execute_fetchall("PRAGMA synchronous=NORMAL")
    except BaseException:
        await conn.close()  # else its thread keeps a failed start from exiting
        raise
    return conn
