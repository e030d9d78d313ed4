"""The cache's writes: pages of the change feed and of the snapshot, the totals kept
exact, the bulk first fill.

Open errors and distinct affected records per type, per subtype and overall live in a
small ``totals`` table, so the cards cost a lookup, not a scan. Each page of changes
takes away the totals of the records it touches (before), upserts the rows, and adds
their totals back (after), which keeps them exact. The first fill of an empty cache
runs in bulk mode: rows go in without secondary indexes or totals, which are built
once at the end (``finish_changes``, also run on open if a bulk fill was cut short).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from tui.core.causes import cause_key
from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.data.cache_connections import CacheConnections
from tui.data.cache_file import CacheError
from tui.data.cache_schema import (
    FIELDS_AT,
    FTS_TRIGGER_NAMES,
    FTS_TRIGGERS,
    INDEXES,
    statements,
)
from tui.data.cache_sql import TOUCHED, record_totals_select, totals_selects
from tui.data.values import CauseRef

_UPSERT = (
    f"INSERT OR REPLACE INTO errors ({', '.join(FEED_ROW_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(FEED_ROW_COLUMNS))})"
)
_BARE = len(ERROR_COLUMNS)
#: Where a chunk that came as a SQLite database is attached to the writer.
_CHUNK = "snapshot_chunk"
_JOINED = "coalesce((SELECT group_concat(value, ';') FROM json_each(fields)), '')"
_COPY = (
    f"INSERT OR REPLACE INTO errors ({', '.join(FEED_ROW_COLUMNS)}) SELECT "
    + ", ".join(_JOINED if c == "fields" else c for c in FEED_ROW_COLUMNS)
    + f" FROM {_CHUNK}.snapshot_rows"
)


@dataclass(frozen=True, slots=True)
class RowsDatabase:
    """A snapshot chunk as a SQLite database (``GET /v1/snapshot/database``): a table
    ``snapshot_rows`` of FEED_ROW_COLUMNS, ``fields`` as JSON lists, ``rows`` rows
    (tui/data/snapshot.py ``check_database``)."""

    data: bytes
    rows: int


def join_fields(rows: list[list[Any]]) -> None:
    """``fields`` of rows from the service (a list of names) joined with ';', in place;
    a row without its cause key (ERROR_COLUMNS only) gets a null one."""
    fi, bare = FIELDS_AT, _BARE
    for r in rows:
        value = r[fi]
        if value.__class__ is list:
            r[fi] = ";".join(value)
        if len(r) == bare:
            r.append(None)


class FeedWrites(CacheConnections):
    """Applying the service's change feed to the cache."""

    #: A first page at least this big on an empty cache switches to bulk mode.
    bulk_threshold = 5000

    async def apply_changes(self, rows: list[list[Any]], cursor: int) -> None:
        """Upsert a page of the change feed (rows in FEED_ROW_COLUMNS order, or
        ERROR_COLUMNS without the cause key) and store ``cursor``.

        ``fields`` may arrive as a list; it is joined with ';' in place.
        """
        join_fields(rows)
        w = self._w
        async with self._writing, self._guard("store the service's changes"):
            await w.execute("BEGIN IMMEDIATE")
            try:
                bulk = await self._meta_raw(w, "bulk") == "1"
                if not bulk and len(rows) >= self.bulk_threshold:
                    bulk = await self._enter_bulk()
                if bulk:
                    await w.executemany(_UPSERT, rows)
                else:
                    await self._apply_incremental(rows)
                await w.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (str(int(cursor)),)
                )
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise

    async def _enter_bulk(self, *, resuming: bool = False) -> bool:
        """Inside a write: switch an empty cache to bulk mode (no secondary indexes, no
        totals, no trigram index until ``finish_changes``, which rebuilds them all);
        False when it holds rows, unless ``resuming`` a fill that was shown meanwhile."""
        w = self._w
        if not resuming and await w.execute_fetchall("SELECT 1 FROM errors LIMIT 1"):
            return False
        for name in INDEXES:
            await w.execute(f"DROP INDEX IF EXISTS {name}")
        for name in FTS_TRIGGER_NAMES:
            await w.execute(f"DROP TRIGGER IF EXISTS {name}")
        await w.execute("INSERT OR REPLACE INTO meta VALUES ('bulk', '1'), ('fts', '0')")
        self.search_ready, self.filling = False, True
        return True

    async def snapshot_state(self) -> tuple[int, int] | None:
        """A snapshot fill under way: (the feed cursor of its first chunk, the last id
        stored), or None."""
        state = await self.get_meta("snapshot")
        return None if state is None else (int(state[0]), int(state[1]))

    @contextlib.asynccontextmanager
    async def snapshot_store(self, chunks_per_commit: int) -> AsyncIterator[SnapshotStore]:
        """A ``SnapshotStore`` whose last transaction is committed on the way out, an
        exception's included: every chunk it took whole is kept (a kill commits none of
        that transaction, and the fill goes on after the last id committed)."""
        store = SnapshotStore(self, chunks_per_commit)
        try:
            yield store
        finally:
            await store.commit()

    async def _apply_incremental(self, rows: list[list[Any]]) -> None:
        """Insert rows and recount the aggregates of every record they touch (old or new)."""
        w = self._w
        ot, rid = ERROR_COLUMNS.index("object_type"), ERROR_COLUMNS.index("record_id")
        await w.execute(
            "CREATE TEMP TABLE IF NOT EXISTS touched (object_type TEXT, record_id TEXT, "
            "PRIMARY KEY (object_type, record_id)) WITHOUT ROWID"
        )
        await w.execute("DELETE FROM temp.touched")
        await w.execute(
            "INSERT OR IGNORE INTO temp.touched SELECT object_type, record_id FROM errors "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps([r[0] for r in rows]).decode(),),
        )
        await w.executemany(
            "INSERT OR IGNORE INTO temp.touched VALUES (?, ?)", [(r[ot], r[rid]) for r in rows]
        )
        await self._add_totals(-1, TOUCHED)
        await w.execute(
            "DELETE FROM record_totals WHERE (object_type, record_id) IN "
            "(SELECT object_type, record_id FROM temp.touched)"
        )
        await w.executemany(_UPSERT, rows)
        await self._add_totals(+1, TOUCHED)
        await w.execute(f"INSERT INTO record_totals {record_totals_select(TOUCHED)}")

    async def _add_totals(self, sign: int, source: str) -> None:
        """Add (sign +1) or take away (-1) the errors of ``source`` from the totals."""
        for select in totals_selects(sign, source):
            await self._w.execute(
                f"INSERT INTO totals {select} ON CONFLICT (level, key) DO UPDATE SET "
                "errors = errors + excluded.errors, records = records + excluded.records"
            )

    async def finish_changes(self, on_step: Callable[[int, int], object] | None = None) -> None:
        """After a bulk fill: build the secondary indexes and the totals in one go;
        ``on_step(done, steps)`` hears of each step as it begins."""
        w = self._w
        async with self._writing, self._guard("index the cache"):
            if await self._meta_raw(w, "bulk") != "1":
                return
            indexes = [f"CREATE INDEX IF NOT EXISTS {n} ON {t}" for n, t in INDEXES.items()]
            totals = [
                f"INSERT INTO totals {select}"
                for select in totals_selects(+1, "errors e NOT INDEXED")[:-1]
            ]
            steps = [
                *indexes,
                "DELETE FROM totals",
                *totals,
                # all types: a covering scan of errors_record, already in record order
                "INSERT INTO totals SELECT 'all', '', ifnull(sum(n), 0), count(*) FROM "
                "(SELECT count(*) AS n FROM errors INDEXED BY errors_record "
                "WHERE status = 'open' GROUP BY record_id, object_type)",
                "DELETE FROM record_totals",
                f"INSERT INTO record_totals {record_totals_select('errors e')}",
                "DELETE FROM meta WHERE key = 'bulk'",
            ]
            await w.execute("BEGIN IMMEDIATE")
            try:
                for done, step in enumerate(steps):
                    if on_step is not None:
                        on_step(done, len(steps))
                    await w.execute(step)
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise
        self.filling = False

    async def key_causes(self, cause: CauseRef) -> int:
        """Give the errors of ``cause``'s subtype and object that have no cause key yet
        theirs (the service's function, tui/core/causes.py), so the cause filter finds
        every error of the cause; how many were keyed. Rows come with the service's key
        when its cause index had reached them (tui/service/ledger.py ``CAUSE_OF_ROW``);
        the others (a ledger not indexed yet, a service from before the key) are keyed
        here, once, when a view of one of their causes is first read. A cause asked
        again costs one lookup of its index."""
        if self.filling:  # no cause index until the first fill is done
            return 0
        w = self._w
        async with self._writing, self._guard("find the errors of the cause"):
            await w.execute("BEGIN IMMEDIATE")  # no feed page between the read and the keys
            try:
                got = list(
                    await w.execute_fetchall(
                        "SELECT id, message FROM errors INDEXED BY errors_cause "
                        "WHERE cause IS NULL AND subtype = ? AND sf_object = ?",
                        (cause.subtype, cause.sf_object),
                    )
                )
                keys: dict[str, str] = {}  # messages repeat: one template each
                for _, message in got:
                    if message not in keys:
                        keys[message] = cause_key(cause.subtype, cause.sf_object, message)
                await w.executemany(
                    "UPDATE errors SET cause = ? WHERE id = ?", [(keys[m], i) for i, m in got]
                )
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise
        return len(got)

    async def row_count(self) -> int:
        """Rows the cache holds (open or not): a first fill's progress."""
        return int((await self._fetchall("SELECT count(*) FROM errors"))[0][0])

    async def build_search_index(self) -> None:
        """Index every row for the text filter, once after a bulk fill (until then the
        filter matches with LIKE), and create the triggers that keep it up to date."""
        if self.search_ready:
            return
        w = self._w
        async with self._writing, self._guard("index the cache for the text filter"):
            await w.execute("BEGIN IMMEDIATE")
            try:
                for name in FTS_TRIGGER_NAMES:  # a file from before they were dropped has them
                    await w.execute(f"DROP TRIGGER IF EXISTS {name}")
                for statement in statements(FTS_TRIGGERS):
                    await w.execute(statement)
                await w.execute("INSERT INTO errors_fts (errors_fts) VALUES ('rebuild')")
                await w.execute("INSERT OR REPLACE INTO meta VALUES ('fts', '1')")
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise
        self.search_ready = True


class SnapshotStore:
    """Chunks of the service's snapshot (rows in FEED_ROW_COLUMNS order, ids above the
    last chunk's) stored in bulk mode, ``chunks_per_commit`` chunks to a transaction:
    a commit per chunk of 5,000 rows cost a third of the store's time, and the chunks
    stay the size they are in memory. Each chunk writes how far the fill came (the feed
    cursor of its first chunk, its last id) in the same transaction, so whatever was
    committed last is where a fill cut short goes on. The writer's lock is held while
    a transaction is open, across the wait for the next chunk."""

    def __init__(self, cache: FeedWrites, chunks_per_commit: int) -> None:
        self._cache, self._every = cache, max(1, chunks_per_commit)
        self._open, self._chunks, self._attached = False, 0, False

    async def put(
        self, rows: Iterable[list[Any]] | RowsDatabase, last_id: int, cursor: int, *, done: bool
    ) -> None:
        """Store a chunk (``fields`` joined: ``join_fields``; read in the writer's thread);
        the last (``done``) sets the feed cursor to ``cursor``, the first chunk's, so the
        change feed brings every change made since the snapshot began, and commits."""
        cache = self._cache
        w = cache._w
        async with cache._guard("store the service's snapshot"):
            if not self._open:
                await cache._writing.acquire()
                self._open, self._chunks = True, 0
                try:
                    if isinstance(rows, RowsDatabase) and not self._attached:
                        await w.execute(f"ATTACH ':memory:' AS {_CHUNK}")  # not in a transaction
                        self._attached = True
                    await w.execute("BEGIN IMMEDIATE")
                except BaseException:
                    self._open = False
                    cache._writing.release()
                    raise
            # A chunk after the first of its transaction is a savepoint of its own: a
            # fill stopped inside it (a cancel) keeps the chunks before it for the commit.
            partial = self._chunks > 0
            try:
                if partial:
                    await w.execute("SAVEPOINT chunk")
                if await cache._meta_raw(w, "bulk") != "1":
                    resuming = await cache._meta_raw(w, "json:snapshot") is not None
                    if not await cache._enter_bulk(resuming=resuming):
                        raise CacheError("A snapshot can only fill an empty cache.")
                if isinstance(rows, RowsDatabase):
                    await self._copy(rows)
                else:
                    await w.executemany(_UPSERT, rows)
                if done:
                    await w.execute("DELETE FROM meta WHERE key = 'json:snapshot'")
                    await w.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (str(int(cursor)),)
                    )
                else:
                    await w.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('json:snapshot', ?)",
                        (orjson.dumps([int(cursor), int(last_id)]).decode(),),
                    )
                if partial:
                    partial = False
                    await w.execute("RELEASE chunk")
                self._chunks += 1
                if done or self._chunks >= self._every:
                    await self._end()
            except BaseException:
                if partial and self._open:
                    await w.execute("ROLLBACK TO chunk")
                    await w.execute("RELEASE chunk")
                elif self._open:
                    await self._end(rollback=True)
                raise

    async def _copy(self, chunk: RowsDatabase) -> None:
        """Copy a chunk's database (checked: ``check_database``) into the cache inside
        SQLite: no Python object per row. aiosqlite has no ``deserialize``: the sqlite3
        connection's, on its thread."""
        w = self._cache._w
        await w._execute(w._conn.deserialize, chunk.data, name=_CHUNK)  # type: ignore[no-untyped-call]
        await w.execute(_COPY)

    async def commit(self) -> None:
        """Commit the chunks stored since the last commit (none: nothing to do), and let
        the chunks' database go."""
        if self._open:
            async with self._cache._guard("store the service's snapshot"):
                await self._end()
        if self._attached:
            self._attached = False
            with contextlib.suppress(sqlite3.Error):
                await self._cache._w.execute(f"DETACH {_CHUNK}")

    async def _end(self, *, rollback: bool = False) -> None:
        """End the open transaction (a COMMIT that fails rolls back) and let the writer go.

        A failed ROLLBACK is left unsaid: it finds no transaction when a cancel came
        after SQLite had run the COMMIT, and any other failure is the one being raised."""
        w = self._cache._w
        try:
            if not rollback:
                try:
                    await w.execute("COMMIT")
                except BaseException:
                    rollback = True
                    raise
        finally:
            if rollback:
                with contextlib.suppress(sqlite3.Error):
                    await w.execute("ROLLBACK")
            self._open = False
            self._cache._writing.release()
