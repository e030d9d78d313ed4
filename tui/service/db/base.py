"""What the service's modules see of a database, whichever engine holds it.

A :class:`Database` gives two things: :meth:`Database.transaction`, the one way to
write (a connection inside a write transaction that commits on success), and
:attr:`Database.reader`, whose every statement is one job: executed and fetched
together, so no read can be left open between its execute and its fetch by another
task (on SQLite such a read pins an old snapshot and hides a commit made meanwhile).

SQL is written once, with ``?`` placeholders, in the subset both engines share; the
engines translate what they must (tui/service/db/dialect.py).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Generator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

Row = tuple[Any, ...]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]
#: What a write transaction is serialised with (PostgreSQL; SQLite's one writer
#: serialises every write anyway). ``ledger``: every write of the error ledger, so change
#: seqs commit in order; ``causes``: the cause index and daily figures, kept from the
#: feed by their own cursor, so that catch-up need not hold ingest back.
WriteLock = Literal["ledger", "causes"]
LEDGER: tuple[WriteLock, ...] = ("ledger",)
#: Rows per statement of :meth:`Connection.insert_rows`: few distinct statement texts
#: (each is cached, tui/service/db/dialect.py), and parameters far under either
#: engine's limit (a ledger row has 16).
ROWS_PER_INSERT = 100


class DatabaseError(Exception):
    """The database cannot be used; the message says why and never holds a password."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached now (down, restarting): the API answers 503."""


class DatabaseAway(DatabaseUnavailable):
    """The database is away, and the outage was logged already (tui/service/db/outage.py):
    whoever catches this need not log it again."""


@dataclass(slots=True)
class Result:
    """A statement's whole answer, fetched: its rows, and how many rows it changed."""

    rows: list[Row] = field(default_factory=list)
    rowcount: int = -1

    async def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Row]:
        return self.rows

    async def __aenter__(self) -> Result:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class Pending:
    """A statement on its way: ``await`` it, or ``async with`` it, for its :class:`Result`."""

    __slots__ = ("_job",)

    def __init__(self, job: Coroutine[Any, Any, Result]) -> None:
        self._job = job

    def __await__(self) -> Generator[Any, None, Result]:
        return self._job.__await__()

    async def __aenter__(self) -> Result:
        return await self._job

    async def __aexit__(self, *exc: object) -> None:
        return None


class Connection(ABC):
    """Statements on one engine; each call runs and fetches in one step."""

    dialect: Dialect

    def execute(self, sql: str, params: Params = ()) -> Pending:
        return Pending(self._run(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        if rows:  # nothing to send: no round trip
            await self._run_many(sql, rows)

    async def insert_rows(self, sql: str, rows: Iterable[Params]) -> None:
        """``sql``, a one-row ``INSERT ... VALUES (...)`` (an ``ON CONFLICT`` clause may
        follow), for every row of ``rows``: one multi-row statement per
        :data:`ROWS_PER_INSERT` rows, sent as :meth:`send` sends. On PostgreSQL a
        statement a row (``executemany``) is one for the server to bind, run and answer,
        and for psycopg to send and read back: 200 rows cost about 3x the server's CPU
        and the client's of one statement (bench/README.md, issue 14). SQLite's writer
        keeps ``executemany`` (tui/service/db/sqlite.py). An upsert's rows must not
        share a key (PostgreSQL refuses to change a row twice in one statement)."""
        head, values, tail = _one_row(sql)
        rows = list(rows)
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            many = f"{head}{', '.join([values] * len(chunk))}{tail}"
            await self.send(many, [value for row in chunk for value in row])

    async def send(self, sql: str, params: Params = ()) -> None:
        """A write whose answer is not read: in a PostgreSQL transaction it is queued and
        goes with the next statement whose answer is read, or with the commit (its
        error, if any, is raised there)."""
        await self._send(sql, params)

    async def _send(self, sql: str, params: Params) -> None:
        await self._run(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return (await self._run(sql, params)).rows

    async def fetch_together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        """The rows of each of ``statements``, in order. In a PostgreSQL write
        transaction they go to the server together and their answers come back in one
        round trip (each round trip under the ledger's lock waits for the event loop as
        well as the server); elsewhere they run one after another."""
        return [await self.fetchall(sql, params) for sql, params in statements]

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = (await self._run(sql, params)).rows
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def rows_database(self, columns: Sequence[str], select: str, params: Params) -> bytes:
        """The rows of ``select`` (its ``columns``) as a SQLite database's bytes, in one
        table, ``snapshot_rows`` (``GET /v1/snapshot/database``). Here the rows pass
        through Python; the SQLite reader copies them inside SQLite instead."""
        rows = await self.fetchall(select, params)
        return await asyncio.to_thread(rows_as_database, columns, rows)

    @abstractmethod
    async def _run(self, sql: str, params: Params) -> Result: ...

    @abstractmethod
    async def _run_many(self, sql: str, rows: Iterable[Params]) -> None: ...


@lru_cache(maxsize=64)
def _one_row(sql: str) -> tuple[str, str, str]:
    """A one-row INSERT cut around its row: (up to ``VALUES ``, ``(...)``, the rest)."""
    start = sql.index(" VALUES (") + len(" VALUES ")
    depth = 0
    for end, char in enumerate(sql[start:], start):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return sql[:start], sql[start : end + 1], sql[end + 1 :]
    raise ValueError(f"no row of values in {sql[:80]!r}")


class Database(ABC):
    """One ledger database: a SQLite file or a PostgreSQL database."""

    dialect: Dialect

    @abstractmethod
    async def open(self) -> None:
        """Connect; raises :class:`DatabaseError` with a message naming the target."""

    @abstractmethod
    async def close(self) -> None: ...

    @property
    @abstractmethod
    def reader(self) -> Connection:
        """Reads of the last committed state, one job per statement."""

    @abstractmethod
    def transaction(
        self, locks: tuple[WriteLock, ...] = LEDGER
    ) -> AbstractAsyncContextManager[Connection]:
        """The write transaction: one at a time across every process on the database
        for each of ``locks`` (taken in the order of :data:`WriteLock`)."""

    @abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[Connection]:
        """A read-only transaction: every statement in it sees one committed state."""

    @property
    def unavailable(self) -> str | None:
        """Why the database cannot be reached now; None while it can, as far as this
        process knows (a file is always there)."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """The target for messages and logs: a path, or a URL without its password."""


def rows_as_database(columns: Sequence[str], rows: Sequence[Row]) -> bytes:
    """``rows`` in ``snapshot_rows`` of a new in-memory SQLite database, serialized."""
    import sqlite3

    out = sqlite3.connect(":memory:", isolation_level=None)
    try:
        out.execute(f"CREATE TABLE snapshot_rows ({', '.join(columns)})")
        marks = ", ".join("?" * len(columns))
        out.execute("BEGIN")
        out.executemany(f"INSERT INTO snapshot_rows VALUES ({marks})", rows)
        out.execute("COMMIT")
        return out.serialize()
    finally:
        out.close()
