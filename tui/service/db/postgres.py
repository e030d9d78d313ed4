"""The ledger on PostgreSQL (psycopg 3, async, a small pool).

The write rule: every write of the error ledger takes
``pg_advisory_xact_lock(LEDGER_LOCK, schema)`` first, so those writes are serialised
across every process on the database exactly as SQLite's one writer and ``BEGIN
IMMEDIATE`` serialise them: a transaction reads ``MAX(seq)`` only once the one before
it has committed, so sequence numbers commit in order and a change-feed cursor can
never pass a row that commits later. The cause index (tui/service/causes.py) follows
the feed with a cursor of its own and writes only its own tables, under
``CAUSES_LOCK``: its catch-up does not hold ingest back (docs/architecture.md). Reads run in
autocommit, each statement on a pooled connection, executed and fetched together.

Errors that mean the server cannot be reached (refused, terminated, pool exhausted)
become :class:`DatabaseUnavailable` (the API answers 503); the message names the host
and the database, never the password. The first of them starts an :class:`Outage`:
until a probe connects again, requests fail at once instead of each waiting
:data:`CONNECT_TIMEOUT` (tui/service/db/outage.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncPipeline
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.conninfo import conninfo_to_dict
from psycopg.postgres import types as pg_types
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tui.service.db.base import (
    LEDGER,
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
from tui.service.db.dialect import reorder, to_numbered
from tui.service.db.outage import Outage, OutageLines
from tui.service.db.target import PostgresTarget, redact

#: The advisory lock every write transaction holds, with the schema's hash (any fixed
#: 32-bit number; this one spells "SYNC" to whoever lists pg_locks).
LEDGER_LOCK = 0x5359_4E43
#: The cause index's lock ("CAUS"); a transaction holding both took the ledger's first.
CAUSES_LOCK = 0x4341_5553
_KEYS: dict[WriteLock, int] = {"ledger": LEDGER_LOCK, "causes": CAUSES_LOCK}
#: Seconds to wait for a connection: the server down answers 503 after this, not never.
CONNECT_TIMEOUT = 5
#: The write lock, waited for at most as long as SQLite's busy_timeout (5 s): then the
#: write fails with a message instead of hanging behind a stuck transaction.
#: Keyed by the schema as well: ledgers in other schemas of the database (tests, two
#: teams) do not wait for each other.
_TAKE_LOCK = (
    "SELECT set_config('lock_timeout', '5s', true), "
    "pg_advisory_xact_lock(?, hashtext(current_schema()))"
)
POOL_SIZE = 4
#: SQLSTATEs of a session the server ended (pg_terminate_backend, shutdown, recovery).
_ENDED = frozenset({"57P01", "57P02", "57P03"})
for _name in ("psycopg", "psycopg.pool"):  # a logger's filter does not reach its children
    logging.getLogger(_name).addFilter(OutageLines())

T = TypeVar("T")
_Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class _BoolAsInteger(Dumper):
    """A Python bool as 0 or 1: the schema keeps flags as integers, as SQLite does."""

    oid = pg_types["int4"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


#: psycopg's adapters, with bools as integers (for our connections only).
ADAPTERS = AdaptersMap(psycopg.adapters)
ADAPTERS.register_dumper(bool, _BoolAsInteger)


class _PgConnection(Connection):
    dialect = "postgresql"

    def __init__(
        self,
        database: PostgresDatabase,
        conn: _Conn | None = None,
        pipeline: AsyncPipeline | None = None,
    ) -> None:
        self._db = database
        self._conn = conn  # None: the reader, a pooled connection per statement
        #: A write transaction's pipeline: :meth:`send` and executemany queue on it, a
        #: statement whose answer is read sends everything queued with it.
        self._pipeline = pipeline

    async def _run(self, sql: str, params: Params) -> Result:
        if self._conn is not None:
            return await self._db.guard(_fetch(self._conn, sql, params, self._pipeline))
        async with self._db.connection() as conn:
            return await self._db.guard(_fetch(conn, sql, params))

    async def _send(self, sql: str, params: Params) -> None:
        if self._conn is None or self._pipeline is None:
            await self._run(sql, params)
            return
        text, order = to_numbered(sql)
        await self._db.guard(self._conn.execute(text, reorder(order, params)))

    async def fetch_together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        if self._conn is None or self._pipeline is None:
            return await super().fetch_together(statements)
        cursors = []
        for sql, params in statements:
            text, order = to_numbered(sql)
            cursors.append(await self._db.guard(self._conn.execute(text, reorder(order, params))))
        await self._db.guard(self._pipeline.sync())  # one round trip for all of them
        return [await self._db.guard(cur.fetchall()) for cur in cursors]

    async def _run_many(self, sql: str, rows: Iterable[Params]) -> None:
        if self._conn is None:
            raise DatabaseError("the reader does not write")
        text, order = to_numbered(sql)
        async with self._conn.cursor() as cur:
            await self._db.guard(cur.executemany(text, [reorder(order, r) for r in rows]))


async def _fetch(
    conn: _Conn, sql: str, params: Params, pipeline: AsyncPipeline | None = None
) -> Result:
    # No parameters: the text goes as it is (outside a pipeline, a script of several
    # statements may be).
    if params:
        text, order = to_numbered(sql)
        cur = await conn.execute(text, reorder(order, params))
    else:
        cur = await conn.execute(sql)
    if pipeline is not None:
        await pipeline.sync()  # this answer is needed: send what is queued, and wait
    rows = await cur.fetchall() if cur.description is not None else []
    return Result(rows, cur.rowcount)


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, target: PostgresTarget) -> None:
        self.target = target
        parts = conninfo_to_dict(target.url)
        self._where = (
            f"the PostgreSQL database {parts.get('dbname') or parts.get('user') or '?'} "
            f"on {parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"
        )
        # Raw cursors: statements carry $1, $2 ... (dialect.to_numbered), not %s.
        self._kwargs: dict[str, Any] = {
            "autocommit": True,
            "context": ADAPTERS,
            "cursor_factory": psycopg.AsyncRawCursor,
        }
        if target.password is not None:
            self._kwargs["password"] = target.password
        self._pool: AsyncConnectionPool[_Conn] | None = None
        # one transaction per lock in this process: the others wait here, not on the pool
        self._locks: dict[WriteLock, asyncio.Lock] = {name: asyncio.Lock() for name in _KEYS}
        self._reader = _PgConnection(self)
        self.outage = Outage(self._back)

    @property
    def unavailable(self) -> str | None:
        return self.outage.reason

    def describe(self) -> str:
        return redact(self.target.url)

    async def _probe(self) -> None:
        """One plain connection, closed again; its error says what is wrong (the
        pool's only says it timed out)."""
        try:
            first = await psycopg.AsyncConnection.connect(
                self.target.url, connect_timeout=CONNECT_TIMEOUT, **self._kwargs
            )
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot connect to {self._where}: {_reason(exc)}") from exc
        await first.close()

    async def _back(self) -> None:
        """The outage's probe: a new connection, then the pooled ones checked (the
        server ended them while it was away; the next request must not find one)."""
        await self._probe()
        if self._pool is not None:
            await self._pool.check()

    async def open(self) -> None:
        await self._probe()
        pool: AsyncConnectionPool[_Conn] = AsyncConnectionPool(
            self.target.url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={**self._kwargs, "connect_timeout": CONNECT_TIMEOUT},
            timeout=CONNECT_TIMEOUT,
            # its attempts give up soon: while the database is away the outage's probe
            # looks for it, and the next request grows the pool again
            reconnect_timeout=CONNECT_TIMEOUT,
            open=False,
            name="synchealth",
        )
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        self._pool = pool

    async def close(self) -> None:
        await self.outage.close()
        if self._pool is not None:
            await self._pool.close()
        self._pool = None

    @property
    def reader(self) -> Connection:
        return self._reader

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Conn]:
        if self._pool is None:
            raise DatabaseError("the ledger is not open")
        self.outage.check()
        try:
            async with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise self._away(f"{self._where} does not answer") from exc
        except psycopg.OperationalError as exc:
            raise self.ours(exc) from exc

    async def guard(self, job: Awaitable[T]) -> T:
        """Await ``job``; a psycopg error becomes ours, with the database named."""
        try:
            return await job
        except psycopg.Error as exc:
            raise self.ours(exc) from exc

    def ours(self, exc: psycopg.Error) -> DatabaseError:
        if isinstance(exc, psycopg.OperationalError):
            message = f"{self._where} is unavailable: {_reason(exc)}"
            if exc.sqlstate is None or exc.sqlstate.startswith("08") or exc.sqlstate in _ENDED:
                return self._away(message)  # the connection is gone, not one statement
            return DatabaseUnavailable(message)
        return DatabaseError(f"{self._where}: {_reason(exc)}")

    def _away(self, message: str) -> DatabaseAway:
        self.outage.failed(message)
        return DatabaseAway(message)

    @asynccontextmanager
    async def transaction(self, locks: tuple[WriteLock, ...] = LEDGER) -> AsyncIterator[Connection]:
        ordered = [name for name in _KEYS if name in locks]  # one order: no deadlock
        async with AsyncExitStack() as held:
            for name in ordered:
                await held.enter_async_context(self._locks[name])
            conn = await held.enter_async_context(self.connection())
            try:
                # Pipeline mode: BEGIN and the locks go in one round trip, the writes
                # whose answers are not read with the next read or the commit. The
                # lock is held for fewer round trips, each of which waits for the
                # event loop as well as the server.
                async with conn.pipeline() as pipeline, conn.transaction():
                    piped = _PgConnection(self, conn, pipeline)
                    for name in ordered:
                        await piped.send(_TAKE_LOCK, (_KEYS[name],))
                    if ordered:  # inside the block, the locks are held; without locks
                        # (a usage call) BEGIN goes with the writes, one round trip
                        await self.guard(pipeline.sync())
                    yield piped
            except psycopg.Error as exc:  # raised by the commit, or a queued write
                raise self.ours(exc) from exc

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Connection]:
        async with self.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _PgConnection(self, conn)


def _reason(exc: psycopg.Error) -> str:
    """The server's or libpq's first line (it names no password)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
