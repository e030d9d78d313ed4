"""The cache file's life: connections, schema, corruption recovery, SQLite failures as
``CacheError``, the meta table, and the reads every query goes through.

One SQLite file (WAL) per service. Three aiosqlite connections: a writer that applies
pages of the change feed, a reader for the console's queries (so a big write never
queues the UI's reads), and a searcher for text-filtered queries, which
``interrupt_search`` stops without touching the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import aiosqlite
import orjson

from tui.data.cache_file import (
    CacheDamaged,
    CacheError,
    check_location,
    classify_failure,
    damage_marker,
    damaged_notice,
    move_aside,
    should_check,
)
from tui.data.cache_schema import FTS_TRIGGERS, INDEXES, SCHEMA, SCHEMA_VERSION, statements
from tui.data.cache_sql import where
from tui.data.values import ViewFilter


class QueryInterrupted(CacheError):
    """A text-filtered query was stopped by ``Cache.interrupt_search`` (nothing is wrong)."""


class CacheConnections:
    """The cache file and its connections; ``Cache`` adds what is done with them."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        #: Set when the file had to be moved aside and rebuilt; says where it went.
        self.notice: str | None = None
        #: Why the cache file was found damaged and moved aside (with ``notice``).
        self.damage: str | None = None
        #: Where the damaged file went, when it was moved aside.
        self.moved_to: Path | None = None
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        #: Runs the text-filtered queries, so ``interrupt_search`` stops only those.
        self._searcher: aiosqlite.Connection | None = None
        #: The trigram index holds every row (built after a bulk fill, then kept).
        self.search_ready = False
        #: A first fill is under way (bulk mode: no secondary indexes or totals yet), so
        #: the views answer empty until ``finish_changes``; it resumes after a restart.
        self.filling = False
        #: Held through every transaction on the writer, and by every write outside one,
        #: so two never interleave there (a feed page and the keying of a cause's rows; a
        #: first fill's transaction of several chunks and a resync batch written down).
        self._writing = asyncio.Lock()

    # -- opening -------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> Self:
        cache = cls(Path(path), busy_timeout)
        check_location(cache.path)
        try:
            await cache._open_or_rebuild()
        except BaseException:
            await cache.close()
            raise
        return cache

    async def _connect(
        self, temp_store: str = "MEMORY", cache_kb: int = 32000
    ) -> aiosqlite.Connection:
        """A connection with the cache's settings. The writer sorts its index builds in
        temp files (``FILE``) with a smaller cache: appending rows needs little, and the
        sorts would otherwise grow the process by the index's size (issue 11: RSS)."""
        conn = await aiosqlite.connect(
            self.path, isolation_level=None, timeout=self.busy_timeout, iter_chunk_size=4096
        )
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            await self._wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute(f"PRAGMA temp_store = {temp_store}")
            await conn.execute(f"PRAGMA cache_size = -{int(cache_kb)}")
            await conn.execute("PRAGMA recursive_triggers = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _wal(self, conn: aiosqlite.Connection) -> None:
        """Switch to WAL, waiting out another process that holds the new file's lock:
        SQLite answers a journal-mode change with "locked" at once, without the busy
        handler, while a second console creates the schema."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                await conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def _open_or_rebuild(self) -> None:
        try:
            await self._open_checked()
        except sqlite3.Error as exc:
            kind = classify_failure(exc)
            await self._close_connections()
            if kind == "locked":
                raise CacheError(
                    f"The cache file {self.path} is locked by another program. "
                    "Close the other synchealth (or whatever holds it) and try again."
                ) from exc
            if kind != "corrupt":
                raise CacheError(f"Cannot open the cache file {self.path}: {exc}") from exc
            self.moved_to = move_aside(self.path)
            self.damage = str(exc)
            self.notice = damaged_notice(exc, self.moved_to)
            try:
                await self._open_checked()
            except sqlite3.Error as again:
                await self._close_connections()
                raise CacheError(f"Cannot create a new cache at {self.path}: {again}") from again

    async def _open_checked(self) -> None:
        check = should_check(self.path)
        self._writer = await self._connect("FILE", 8000)
        if check:
            got = list(await self._writer.execute_fetchall("PRAGMA quick_check(1)"))
            if not got or got[0][0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
            damage_marker(self.path).unlink(missing_ok=True)
        if await self._schema_version() != SCHEMA_VERSION:
            await self._create_schema()
        # a bulk fill cut short stays in bulk mode and goes on from its stored cursor
        self.filling = await self._meta_raw(self._writer, "bulk") == "1"
        self._reader = await self._connect()
        self._searcher = await self._connect()
        self.search_ready = await self._meta_raw(self._reader, "fts") == "1"

    async def _tables(self) -> set[str]:
        got = await self._w.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in got}

    async def _schema_version(self) -> int | None:
        if "meta" not in await self._tables():
            return None
        got = list(
            await self._w.execute_fetchall("SELECT value FROM meta WHERE key = 'schema_version'")
        )
        return int(got[0][0]) if got else None

    async def _create_schema(self) -> None:
        """Create (or replace an older) schema; safe when another process does it too.

        The version is read again under the write lock: a second console that started
        at the same moment and created the schema first leaves nothing to do.
        """
        w = self._w
        await w.execute("BEGIN IMMEDIATE")
        try:
            if await self._schema_version() == SCHEMA_VERSION:
                await w.execute("COMMIT")
                return
            for name in sorted(await self._tables()):  # an FTS table before its shadow tables
                if not name.startswith("sqlite_"):
                    await w.execute(f'DROP TABLE IF EXISTS "{name}"')
            for statement in statements(SCHEMA + FTS_TRIGGERS):
                await w.execute(statement)
            for name, target in INDEXES.items():
                await w.execute(f"CREATE INDEX {name} ON {target}")
            await w.execute(
                "INSERT INTO meta VALUES ('schema_version', ?), ('cursor', '0'), ('fts', '1')",
                (str(SCHEMA_VERSION),),
            )
            await w.execute("COMMIT")
        except BaseException:
            await w.execute("ROLLBACK")
            raise

    async def _close_connections(self) -> None:
        for conn in (self._searcher, self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._searcher = self._reader = self._writer = None

    async def close(self) -> None:
        await self._close_connections()

    async def rebuild(self) -> str:
        """After ``CacheDamaged``: move the file aside and start an empty cache; the notice.

        The next refresh fills it from the service (the cursor starts again at 0).
        """
        await self._close_connections()
        reason = "a read failed: database disk image is malformed"
        self.moved_to = move_aside(self.path)
        self.damage = reason
        self.notice = damaged_notice(reason, self.moved_to)
        try:
            await self._open_checked()
        except sqlite3.Error as exc:
            await self._close_connections()
            raise CacheError(f"Cannot create a new cache at {self.path}: {exc}") from exc
        return self.notice

    @property
    def _w(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise CacheError("The cache is closed.")
        return self._writer

    @property
    def _r(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise CacheError("The cache is closed.")
        return self._reader

    def _where(self, f: ViewFilter, alias: str = "") -> tuple[str, list[Any]]:
        return where(f, alias, search=self.search_ready)

    # -- guarding ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _guard(self, doing: str) -> Any:
        try:
            yield
        except sqlite3.Error as exc:
            if str(exc) == "interrupted":
                raise QueryInterrupted(f"Could not {doing}: the query was interrupted.") from exc
            kind = classify_failure(exc)
            if kind == "locked":
                raise CacheError(
                    f"Could not {doing}: the cache file {self.path} is locked by another "
                    "program. Try again in a moment."
                ) from exc
            if kind == "corrupt":
                raise self._damaged(doing) from exc
            raise CacheError(f"Could not {doing}: {exc}") from exc

    def _damaged(self, doing: str) -> CacheDamaged:
        with contextlib.suppress(OSError):
            damage_marker(self.path).touch()
        return CacheDamaged(
            f"Could not {doing}: the cache file {self.path} is damaged; it is moved aside "
            "and rebuilt from the service."
        )

    # -- meta ----------------------------------------------------------------------------

    @staticmethod
    async def _meta_raw(conn: aiosqlite.Connection, key: str) -> str | None:
        got = list(await conn.execute_fetchall("SELECT value FROM meta WHERE key = ?", (key,)))
        return got[0][0] if got else None

    async def get_meta(self, key: str) -> Any:
        """A JSON value stored with ``set_meta`` (None when absent)."""
        async with self._guard("read the cache"):
            raw = await self._meta_raw(self._r, f"json:{key}")
        return None if raw is None else orjson.loads(raw)

    async def set_meta(self, key: str, value: Any) -> None:
        async with self._writing, self._guard("update the cache"):
            await self._w.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (f"json:{key}", orjson.dumps(value).decode()),
            )

    async def cursor(self) -> int:
        """The change-feed cursor the next pull starts from."""
        async with self._guard("read the cache"):
            raw = await self._meta_raw(self._r, "cursor")
        return int(raw or 0)

    # -- reads ---------------------------------------------------------------------------

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        async with self._guard("read the cache"):
            return list(await self._r.execute_fetchall(sql, params))

    def _conn_for(self, f: ViewFilter) -> aiosqlite.Connection:
        """The searcher for a view with a text filter (interruptible), else the reader."""
        if f.text:
            if self._searcher is None:
                raise CacheError("The cache is closed.")
            return self._searcher
        return self._r

    async def _fetchall_for(
        self, f: ViewFilter, sql: str, params: Sequence[Any] = ()
    ) -> list[Sequence[Any]]:
        async with self._guard("read the cache"):
            return list(await self._conn_for(f).execute_fetchall(sql, params))

    async def interrupt_search(self) -> None:
        """Stop the text-filtered query running now (a newer keystroke wants the searcher);
        its caller gets ``QueryInterrupted``."""
        if self._searcher is not None:
            await self._searcher.interrupt()
