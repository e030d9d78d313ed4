"""The console's local mirror of the service's error ledger, and every query it runs.

One SQLite file (WAL) per service. Two aiosqlite connections: a writer that applies
pages of the change feed, and a reader for the console's queries, so a big write never
queues the UI's reads. Exports read through their own read-only connection in a thread.

Open errors and distinct affected records per type, per subtype and overall live in a
small ``totals`` table, so the cards cost a lookup, not a scan. Each page of changes
takes away the totals of the records it touches (before), upserts the rows, and adds
their totals back (after), which keeps them exact. The first fill of an empty cache
runs in bulk mode: rows go in without secondary indexes or totals, which are built
once at the end (``finish_changes``, also run on open if a bulk fill was cut short).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, overload

import aiosqlite
import orjson

from tui.core.models import ERROR_COLUMNS, ERROR_TYPES
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
from tui.data.values import (
    SORT_COLUMNS,
    ErrorRow,
    RecordCount,
    SortColumn,
    SubtypeCount,
    TypeCount,
    ViewFilter,
    ViewOrder,
)

__all__ = ["Cache", "CacheDamaged", "CacheError", "ErrorRow", "QueryInterrupted", "ViewFilter"]

#: Version 5: ignored errors (status 'ignored') and their totals per type.
SCHEMA_VERSION = 5

#: Columns of the cache's ``errors`` table: ERROR_COLUMNS (fields joined with ';').
ROW_COLUMNS = ", ".join(c for c in ERROR_COLUMNS if c != "seq")
_FIELDS_AT = ERROR_COLUMNS.index("fields")
_UPSERT = (
    f"INSERT OR REPLACE INTO errors ({', '.join(ERROR_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ERROR_COLUMNS))})"
)


def _join_fields(rows: list[list[Any]]) -> None:
    """``fields`` of rows from the service (a list of names) joined with ';', in place."""
    fi = _FIELDS_AT
    for r in rows:
        value = r[fi]
        if value.__class__ is list:
            r[fi] = ";".join(value)


SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE errors (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    subtype     TEXT NOT NULL,
    object_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    record_name TEXT NOT NULL,
    sf_object   TEXT NOT NULL,
    sf_id       TEXT,
    direction   TEXT NOT NULL,
    sf_code     TEXT NOT NULL,
    message     TEXT NOT NULL,
    fields      TEXT NOT NULL,      -- field API names joined with semicolons
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    status      TEXT NOT NULL
);
-- open errors and distinct CRM records per ('sub', subtype), ('type', type), ('all', ''),
-- and ignored ones per ('ignored', type): the cards' "+12 ignored"
CREATE TABLE totals (
    level   TEXT NOT NULL,
    key     TEXT NOT NULL,
    errors  INTEGER NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (level, key)
) WITHOUT ROWID;
-- open errors per CRM record and type, for the affected-records view
CREATE TABLE record_totals (
    type        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    record_name TEXT NOT NULL,
    sf_object   TEXT NOT NULL,
    sf_id       TEXT,
    errors      INTEGER NOT NULL,
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (object_type, record_id, type)
) WITHOUT ROWID;
CREATE INDEX record_totals_seen ON record_totals(type, last_seen);
-- substrings of the columns the text filter searches (external content: errors)
CREATE VIRTUAL TABLE errors_fts USING fts5(
    record_name, message, sf_id, record_id, sf_code,
    content = 'errors', content_rowid = 'id', tokenize = 'trigram'
);
-- kept by every write once built (meta fts = 1); a REPLACE's delete fires with
-- recursive_triggers, which every connection of the cache turns on
CREATE TRIGGER errors_fts_insert AFTER INSERT ON errors
WHEN (SELECT value FROM meta WHERE key = 'fts') = '1' BEGIN
    INSERT INTO errors_fts (rowid, record_name, message, sf_id, record_id, sf_code)
    VALUES (new.id, new.record_name, new.message, new.sf_id, new.record_id, new.sf_code);
END;
CREATE TRIGGER errors_fts_delete AFTER DELETE ON errors
WHEN (SELECT value FROM meta WHERE key = 'fts') = '1' BEGIN
    INSERT INTO errors_fts (errors_fts, rowid, record_name, message, sf_id, record_id, sf_code)
    VALUES ('delete', old.id, old.record_name, old.message, old.sf_id, old.record_id,
            old.sf_code);
END;
CREATE TRIGGER errors_fts_update AFTER UPDATE OF record_name, message, sf_id, record_id, sf_code
ON errors WHEN (SELECT value FROM meta WHERE key = 'fts') = '1' BEGIN
    INSERT INTO errors_fts (errors_fts, rowid, record_name, message, sf_id, record_id, sf_code)
    VALUES ('delete', old.id, old.record_name, old.message, old.sf_id, old.record_id,
            old.sf_code);
    INSERT INTO errors_fts (rowid, record_name, message, sf_id, record_id, sf_code)
    VALUES (new.id, new.record_name, new.message, new.sf_id, new.record_id, new.sf_code);
END;
-- resync batches written before they are sent, so a killed process re-sends the same id
CREATE TABLE pending_resync (
    request_id TEXT PRIMARY KEY,
    ids        TEXT NOT NULL,       -- JSON list of error ids
    state      TEXT NOT NULL,       -- pending
    created    TEXT NOT NULL
);
"""


def _sort_index(column: str) -> str:
    """Index name serving ``ORDER BY column, id``: (column, id) then the filter columns."""
    return f"errors_by_{column}"


#: Secondary indexes: created after a bulk fill, dropped before one. Every sort the
#: console offers has one on (sort column, id, type, status), so a page in any order is
#: a range of one index, filtered by type and status without touching the table.
INDEXES = {
    "errors_status_seen": "errors(status, last_seen)",
    "errors_type_seen": "errors(type, status, last_seen)",
    "errors_record": "errors(record_id, object_type, status)",
    **{
        _sort_index(c): f"errors({', '.join(dict.fromkeys((c, 'id', 'type', 'status')))})"
        for c in SORT_COLUMNS
        if c != "id"
    },
}

#: (level, grouping expression, status counted) of the totals table; the open errors of
#: all types (the last) come last.
_AGG_LEVELS = (
    ("ignored", "e.type", "ignored"),
    ("sub", "e.subtype", "open"),
    ("type", "e.type", "open"),
    ("all", "''", "open"),
)


class QueryInterrupted(CacheError):
    """A text-filtered query was stopped by ``Cache.interrupt_search`` (nothing is wrong)."""


def _row(t: Sequence[Any]) -> ErrorRow:
    fields = tuple(t[11].split(";")) if t[11] else ()
    return ErrorRow(*t[:11], fields, *t[12:])  # type: ignore[call-arg]


def like_pattern(text: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching ``text`` literally anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Errors of the records a page touches (CROSS JOIN keeps the small table outside).
_TOUCHED = (
    "temp.touched t CROSS JOIN errors e "
    "ON e.record_id = t.record_id AND e.object_type = t.object_type"
)
_TEXT_COLUMNS = ("record_name", "message", "sf_id", "record_id", "sf_code")


def _statements(script: str) -> Iterator[str]:
    """The complete SQL statements of ``script`` (a trigger's body stays whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""


def _record_totals_select(source: str) -> str:
    """Rows of ``record_totals`` for the open errors of ``source`` (alias ``e``)."""
    return (
        "SELECT e.type, e.object_type, e.record_id, max(e.record_name), max(e.sf_object), "
        f"max(e.sf_id), count(*), max(e.last_seen) FROM {source} WHERE +e.status = 'open' "
        "GROUP BY e.object_type, e.record_id, e.type"
    )


#: The trigram index finds substrings of at least this many characters.
FTS_MIN_CHARS = 3


def fts_phrase(text: str) -> str:
    """An FTS5 query matching ``text`` literally, as one phrase (quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


def where(f: ViewFilter, alias: str = "", *, search: bool = False) -> tuple[str, list[Any]]:
    """SQL condition and parameters for a view filter.

    With ``search`` (the trigram index is built), a text of 3 characters or more is
    looked up in ``errors_fts``; a shorter one, or any without the index, is matched with
    LIKE. Both find the same rows for ASCII text (case-insensitive substrings).
    """
    p = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("status", f.status),
        ("type", f.type),
        ("subtype", f.subtype),
        ("record_id", f.record_id),
    ):
        if value is not None:
            clauses.append(f"{p}{column} = ?")
            params.append(value)
    if f.text and search and len(f.text) >= FTS_MIN_CHARS:
        clauses.append(f"{p}id IN (SELECT rowid FROM errors_fts WHERE errors_fts MATCH ?)")
        params.append(fts_phrase(f.text))
    elif f.text:
        pattern = like_pattern(f.text)
        clauses.append("(" + " OR ".join(f"{p}{c} LIKE ? ESCAPE '\\'" for c in _TEXT_COLUMNS) + ")")
        params.extend([pattern] * len(_TEXT_COLUMNS))
    return (" AND ".join(clauses) or "1"), params


class Cache:
    """The local mirror. Open with ``await Cache.open(path)``; close with ``close()``."""

    #: A first page at least this big on an empty cache switches to bulk mode.
    bulk_threshold = 5000

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

    # -- opening -------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> Cache:
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
            for statement in _statements(SCHEMA):
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
        async with self._guard("update the cache"):
            await self._w.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (f"json:{key}", orjson.dumps(value).decode()),
            )

    async def cursor(self) -> int:
        """The change-feed cursor the next pull starts from."""
        async with self._guard("read the cache"):
            raw = await self._meta_raw(self._r, "cursor")
        return int(raw or 0)

    # -- mirror --------------------------------------------------------------------------

    async def apply_changes(self, rows: list[list[Any]], cursor: int) -> None:
        """Upsert a page of the change feed (rows in ERROR_COLUMNS order) and store ``cursor``.

        ``fields`` may arrive as a list; it is joined with ';' in place.
        """
        _join_fields(rows)
        w = self._w
        async with self._guard("store the service's changes"):
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
        await w.execute("INSERT OR REPLACE INTO meta VALUES ('bulk', '1'), ('fts', '0')")
        self.search_ready, self.filling = False, True
        return True

    async def snapshot_state(self) -> tuple[int, int] | None:
        """A snapshot fill under way: (the feed cursor of its first chunk, the last id
        stored), or None."""
        state = await self.get_meta("snapshot")
        return None if state is None else (int(state[0]), int(state[1]))

    async def apply_snapshot(
        self, rows: list[list[Any]], last_id: int, cursor: int, *, done: bool
    ) -> None:
        """Store a chunk of the service's snapshot (rows in ERROR_COLUMNS order, ids above
        the last chunk's) in bulk mode, remembering how far it came; the last chunk
        (``done``) sets the feed cursor to ``cursor``, the first chunk's, so the change
        feed brings every change made since the snapshot began."""
        _join_fields(rows)
        w = self._w
        async with self._guard("store the service's snapshot"):
            await w.execute("BEGIN IMMEDIATE")
            try:
                if rows and await self._meta_raw(w, "bulk") != "1":
                    resuming = await self._meta_raw(w, "json:snapshot") is not None
                    if not await self._enter_bulk(resuming=resuming):
                        raise CacheError("A snapshot can only fill an empty cache.")
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
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise

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
        await self._add_totals(-1, _TOUCHED)
        await w.execute(
            "DELETE FROM record_totals WHERE (object_type, record_id) IN "
            "(SELECT object_type, record_id FROM temp.touched)"
        )
        await w.executemany(_UPSERT, rows)
        await self._add_totals(+1, _TOUCHED)
        await w.execute(f"INSERT INTO record_totals {_record_totals_select(_TOUCHED)}")

    @staticmethod
    def _totals_selects(sign: int, source: str) -> list[str]:
        """SELECTs of (level, key, errors, records) for the errors of ``source``."""
        selects = []
        for level, key, status in _AGG_LEVELS:
            group = "" if key == "''" else f"GROUP BY {key}"
            selects.append(
                f"SELECT '{level}', {key}, {sign} * count(*), "
                f"{sign} * count(DISTINCT e.object_type || char(31) || e.record_id) "
                f"FROM {source} WHERE +e.status = '{status}' {group}"
            )
        return selects

    async def _add_totals(self, sign: int, source: str) -> None:
        """Add (sign +1) or take away (-1) the errors of ``source`` from the totals."""
        for select in self._totals_selects(sign, source):
            await self._w.execute(
                f"INSERT INTO totals {select} ON CONFLICT (level, key) DO UPDATE SET "
                "errors = errors + excluded.errors, records = records + excluded.records"
            )

    async def finish_changes(self) -> None:
        """After a bulk fill: build the secondary indexes and the totals in one go."""
        w = self._w
        async with self._guard("index the cache"):
            if await self._meta_raw(w, "bulk") != "1":
                return
            await w.execute("BEGIN IMMEDIATE")
            try:
                for name, target in INDEXES.items():
                    await w.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
                await w.execute("DELETE FROM totals")
                for select in self._totals_selects(+1, "errors e NOT INDEXED")[:-1]:
                    await w.execute(f"INSERT INTO totals {select}")
                # all types: a covering scan of errors_record, already in record order
                await w.execute(
                    "INSERT INTO totals SELECT 'all', '', ifnull(sum(n), 0), count(*) FROM "
                    "(SELECT count(*) AS n FROM errors INDEXED BY errors_record "
                    "WHERE status = 'open' GROUP BY record_id, object_type)"
                )
                await w.execute("DELETE FROM record_totals")
                await w.execute(f"INSERT INTO record_totals {_record_totals_select('errors e')}")
                await w.execute("DELETE FROM meta WHERE key = 'bulk'")
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise
        self.filling = False

    async def row_count(self) -> int:
        """Rows the cache holds (open or not): a first fill's progress."""
        return int((await self._fetchall("SELECT count(*) FROM errors"))[0][0])

    async def build_search_index(self) -> None:
        """Index every row for the text filter, once after a bulk fill (until then the
        filter matches with LIKE). Later pages of changes keep the index up to date."""
        if self.search_ready:
            return
        w = self._w
        async with self._guard("index the cache for the text filter"):
            await w.execute("BEGIN IMMEDIATE")
            try:
                await w.execute("INSERT INTO errors_fts (errors_fts) VALUES ('rebuild')")
                await w.execute("INSERT OR REPLACE INTO meta VALUES ('fts', '1')")
                await w.execute("COMMIT")
            except BaseException:
                await w.execute("ROLLBACK")
                raise
        self.search_ready = True

    # -- queries -------------------------------------------------------------------------

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

    async def _totals(self, level: str) -> dict[str, tuple[int, int]]:
        got = await self._fetchall(
            "SELECT key, errors, records FROM totals WHERE level = ?", (level,)
        )
        return {k: (e, r) for k, e, r in got}

    async def type_counts(self) -> list[TypeCount]:
        """Open errors, distinct affected records and ignored errors for all 8 types, zeros
        included."""
        totals, ignored = await self._totals("type"), await self._totals("ignored")
        return [
            TypeCount(t, *totals.get(t, (0, 0)), ignored=ignored.get(t, (0, 0))[0])
            for t in ERROR_TYPES
        ]

    async def subtype_counts(self, type: str) -> list[SubtypeCount]:
        """Open errors per subtype of ``type`` (subtypes with errors), most errors first."""
        got = await self._fetchall(
            "SELECT key, errors, records FROM totals WHERE level = 'sub' AND key LIKE ? "
            "ESCAPE '\\' AND errors > 0 ORDER BY errors DESC, key",
            (like_pattern(type + ".")[1:],),
        )
        return [SubtypeCount(*r) for r in got]

    @staticmethod
    def _totals_key(f: ViewFilter) -> tuple[str, str] | None:
        """The aggregate that answers ``f`` directly, if any (open errors, no text/record)."""
        if f.status != "open" or f.text or f.record_id is not None:
            return None
        if f.subtype is not None:
            if f.type is not None and not f.subtype.startswith(f.type + "."):
                return None
            return ("sub", f.subtype)
        if f.type is not None:
            return ("type", f.type)
        return ("all", "")

    async def _count_via_totals(self, f: ViewFilter, column: int) -> int | None:
        key = self._totals_key(f)
        if key is None:
            return None
        got = await self._fetchall(
            "SELECT errors, records FROM totals WHERE level = ? AND key = ?", key
        )
        return got[0][column] if got else 0

    async def count(self, f: ViewFilter) -> int:
        if self.filling:  # the first fill is not indexed yet
            return 0
        fast = await self._count_via_totals(f, 0)
        if fast is not None:
            return fast
        cond, params = self._where(f)
        got = await self._fetchall_for(f, f"SELECT count(*) FROM errors WHERE {cond}", params)
        return int(got[0][0])

    async def view_ids(
        self, f: ViewFilter, sort: SortColumn = "last_seen", descending: bool = True
    ) -> array[int]:
        """Every id of ``f`` in view order, as array('q'): for "mark all", never for paging."""
        if self.filling:  # the first fill is not indexed yet
            return array("q")
        order = ViewOrder(sort, descending)
        cond, params = self._where(f)
        ids = array("q")
        async with (
            self._guard("read the cache"),
            self._conn_for(f).execute(
                f"SELECT id FROM {self._source(f, order)} WHERE {cond} ORDER BY {order.sql}",
                params,
            ) as cur,
        ):
            while chunk := await cur.fetchmany(65536):
                ids.extend(r[0] for r in chunk)
        return ids

    @staticmethod
    def _source(f: ViewFilter, order: ViewOrder) -> str:
        """``errors``, walked in view order (along the sort's index, or by id) unless a
        record narrows it to a few rows, which are then sorted."""
        if f.record_id is not None:
            return "errors"
        if order.sort == "id":
            return "errors NOT INDEXED"
        return f"errors INDEXED BY {_sort_index(order.sort)}"

    async def view_page(
        self,
        f: ViewFilter,
        order: ViewOrder = ViewOrder(),
        *,
        offset: int = 0,
        limit: int = 100,
        after: ErrorRow | None = None,
        before: ErrorRow | None = None,
        total: int | None = None,
    ) -> list[ErrorRow]:
        """At most ``limit`` rows of ``f`` in ``order``: one page, never the whole view.

        With ``after`` (or ``before``): the rows right after (before) that row of the view,
        found from its sort key along an index (keyset paging: the cost of the page, however
        deep). Else the rows from position ``offset``; given the view's ``total``, a page
        nearer the end is read backwards from the end, so it costs at most half the view.
        """
        if self.filling:  # the first fill is not indexed yet
            return []
        limit = max(0, int(limit))
        if after is not None:
            return await self._keyset(f, order, after, limit)
        if before is not None:
            return (await self._keyset(f, order.reversed(), before, limit))[::-1]
        offset = max(0, int(offset))
        if total is not None and offset > total // 2:
            n = max(0, min(limit, total - offset))
            return (await self._offset(f, order.reversed(), total - offset - n, n))[::-1]
        return await self._offset(f, order, offset, limit)

    async def _offset(
        self, f: ViewFilter, order: ViewOrder, offset: int, limit: int
    ) -> list[ErrorRow]:
        if not limit:
            return []
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT {ROW_COLUMNS} FROM {self._source(f, order)} WHERE {cond} "
            f"ORDER BY {order.sql} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_row(t) for t in got]

    @overload
    async def _keyset(
        self, f: ViewFilter, order: ViewOrder, row: ErrorRow, limit: int
    ) -> list[ErrorRow]: ...

    @overload
    async def _keyset(
        self, f: ViewFilter, order: ViewOrder, row: ErrorRow, limit: int, *, ids_only: Literal[True]
    ) -> list[int]: ...

    async def _keyset(
        self, f: ViewFilter, order: ViewOrder, row: ErrorRow, limit: int, *, ids_only: bool = False
    ) -> list[ErrorRow] | list[int]:
        """Rows (or bare ids) following ``row`` in ``order``: first its ties (same sort
        value, further id), then the further sort values; two index ranges, where one
        row-value range would step over every tie."""
        if not limit:
            return []
        cond, params = self._where(f)
        source, beyond = self._source(f, order), "<" if order.descending else ">"
        columns = "id" if ids_only else ROW_COLUMNS
        if order.sort == "id":
            got = await self._fetchall_for(
                f,
                f"SELECT {columns} FROM {source} WHERE {cond} AND id {beyond} ? "
                f"ORDER BY {order.sql} LIMIT ?",
                [*params, row.id, limit],
            )
            return [t[0] for t in got] if ids_only else [_row(t) for t in got]
        value = getattr(row, order.sort)
        direction = "DESC" if order.descending else "ASC"
        got = await self._fetchall_for(
            f,
            f"SELECT {columns} FROM {source} WHERE {cond} AND {order.sort} = ? "
            f"AND id {beyond} ? ORDER BY id {direction} LIMIT ?",
            [*params, value, row.id, limit],
        )
        if len(got) < limit:
            got += await self._fetchall_for(
                f,
                f"SELECT {columns} FROM {source} WHERE {cond} AND {order.sort} {beyond} ? "
                f"ORDER BY {order.sql} LIMIT ?",
                [*params, value, limit - len(got)],
            )
        return [t[0] for t in got] if ids_only else [_row(t) for t in got]

    async def position(
        self, f: ViewFilter, order: ViewOrder, error_id: int, *, within: int = 20_000
    ) -> int | None:
        """Where error ``error_id`` stands in the view (0-based), if among its first
        ``within`` rows (counting them costs their number); None when not, or not in it."""
        if self.filling:  # the first fill is not indexed yet
            return None
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f, f"SELECT {ROW_COLUMNS} FROM errors WHERE {cond} AND id = ?", [*params, error_id]
        )
        if not got:
            return None
        row = _row(got[0])
        ahead = await self._keyset(f, order.reversed(), row, within, ids_only=True)
        return None if len(ahead) >= within else len(ahead)

    async def in_view(self, f: ViewFilter, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are in the view ``f``."""
        if self.filling:  # the first fill is not indexed yet
            return set()
        return await self._present(f, ids)

    async def _present(self, f: ViewFilter, ids: Sequence[int]) -> set[int]:
        if not len(ids):
            return set()
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT id FROM errors WHERE id IN (SELECT value FROM json_each(?)) AND {cond}",
            [orjson.dumps(list(ids)).decode(), *params],
        )
        return {r[0] for r in got}

    async def rows(self, ids: Sequence[int]) -> dict[int, ErrorRow]:
        """The rows for ``ids`` (missing ids are left out), in one query."""
        if not len(ids):
            return {}
        got = await self._fetchall(
            f"SELECT {ROW_COLUMNS} FROM errors WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(ids)).decode(),),
        )
        return {t[0]: _row(t) for t in got}

    async def error(self, error_id: int) -> ErrorRow | None:
        got = await self._fetchall(f"SELECT {ROW_COLUMNS} FROM errors WHERE id = ?", (error_id,))
        return _row(got[0]) if got else None

    async def known_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` the cache holds already."""
        return await self._present(ViewFilter(status=None), ids)

    async def affected_count(self, f: ViewFilter) -> int:
        """Distinct CRM records (object_type, record_id) with errors in ``f``."""
        if self.filling:  # the first fill is not indexed yet
            return 0
        fast = await self._count_via_totals(f, 1)
        if fast is not None:
            return fast
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT count(DISTINCT object_type || char(31) || record_id) FROM errors WHERE {cond}",
            params,
        )
        return int(got[0][0])

    async def affected_records(
        self, f: ViewFilter, offset: int = 0, limit: int = 200
    ) -> list[RecordCount]:
        """Records with errors in ``f``, most recently failing first, with their counts.

        The open errors of one type (the affected-records view) are a range of
        ``record_totals``; any other filter groups the errors themselves.
        """
        if self.filling:  # the first fill is not indexed yet
            return []
        if f.type is not None and self._totals_key(f) == ("type", f.type):
            sql = (
                "SELECT object_type, record_id, record_name, sf_object, sf_id, errors, last_seen "
                "FROM record_totals WHERE type = ? "
                "ORDER BY last_seen DESC, object_type DESC, record_id DESC LIMIT ? OFFSET ?"
            )
            params: list[Any] = [f.type]
        else:
            cond, params = self._where(f)
            sql = (
                "SELECT object_type, record_id, max(record_name), max(sf_object), max(sf_id), "
                f"count(*), max(last_seen) AS seen FROM errors WHERE {cond} "
                "GROUP BY +object_type, +record_id "
                "ORDER BY seen DESC, object_type DESC, record_id DESC LIMIT ? OFFSET ?"
            )
        got = await self._fetchall_for(f, sql, [*params, int(limit), int(offset)])
        return [RecordCount(*r) for r in got]

    async def error_ids_for_records(self, f: ViewFilter, record_ids: Sequence[str]) -> list[int]:
        """Ids of the errors in ``f`` that belong to any of ``record_ids``."""
        if self.filling:  # the first fill is not indexed yet
            return []
        if not record_ids:
            return []
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT id FROM errors WHERE {cond} AND record_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY id",
            [*params, json.dumps(list(record_ids))],
        )
        return [r[0] for r in got]

    # -- pending resync batches ----------------------------------------------------------

    async def add_pending(self, request_id: str, ids: Sequence[int]) -> None:
        """Write a resync batch down before it is sent (committed at once)."""
        async with self._guard("remember the resync batch"):
            await self._w.execute(
                "INSERT OR REPLACE INTO pending_resync VALUES (?, ?, 'pending', ?)",
                (
                    request_id,
                    json.dumps(list(ids)),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                ),
            )

    async def drop_pending(self, request_id: str) -> None:
        async with self._guard("update the resync batches"):
            await self._w.execute("DELETE FROM pending_resync WHERE request_id = ?", (request_id,))

    async def pending(self) -> list[tuple[str, list[int]]]:
        """Batches written down but never confirmed by the service, oldest first."""
        got = await self._fetchall(
            "SELECT request_id, ids FROM pending_resync ORDER BY created, rowid"
        )
        return [(rid, json.loads(ids)) for rid, ids in got]

    # -- export --------------------------------------------------------------------------

    def _export_connection(self, titles: dict[str, str]) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"file:{self.path}?mode=ro",
            uri=True,
            timeout=self.busy_timeout,
            check_same_thread=False,
        )
        conn.execute("PRAGMA cache_size = -16000")
        conn.text_factory = bytes  # the lines go to a file as UTF-8: never decode them
        conn.execute("CREATE TEMP TABLE titles (subtype TEXT PRIMARY KEY, title TEXT)")
        conn.executemany("INSERT INTO temp.titles VALUES (?, ?)", titles.items())
        return conn

    def iter_lines(
        self,
        line: str,
        f: ViewFilter | None,
        ids: Sequence[int] | None,
        titles: dict[str, str],
        *,
        chunk: int = 20000,
        workers: int = 1,
    ) -> Iterator[tuple[bytes, int]]:
        """Blocks of text lines ``SELECT {line} FROM errors e LEFT JOIN temp.titles t``.

        Each block is ``(utf8_bytes, rows)``, every line ending in CRLF, blocks in order: by
        id, or in the order of ``ids``. The rows are formatted inside SQLite by
        ``workers`` threads on their own read-only connections (SQLite runs without the
        GIL, so one worker overlaps with the consumer's writing; more contend on
        SQLite's allocator), at most ``workers + 1`` blocks ahead of the consumer, so
        the whole set is never in memory. Call it from a thread.
        """
        cond, params = self._where(f or ViewFilter(status=None), "e")
        source = "errors e LEFT JOIN temp.titles t ON t.subtype = e.subtype"
        local = threading.local()
        opened: list[sqlite3.Connection] = []

        def conn() -> sqlite3.Connection:
            c = getattr(local, "conn", None)
            if c is None:
                c = local.conn = self._export_connection(titles)
                opened.append(c)
            return c

        if ids is None:
            sql = f"SELECT {line} FROM {source} WHERE e.id BETWEEN ? AND ? AND {cond} ORDER BY e.id"
            tasks: Iterator[list[Any]] = (
                [lo, hi, *params] for lo, hi in self._id_ranges(conn(), chunk)
            )
        else:
            sql = (
                f"SELECT {line} FROM json_each(?) j JOIN errors e ON e.id = j.value "
                f"LEFT JOIN temp.titles t ON t.subtype = e.subtype WHERE {cond} ORDER BY j.key"
            )
            tasks = (
                [json.dumps(list(ids[i : i + chunk])), *params] for i in range(0, len(ids), chunk)
            )

        def run(task: list[Any]) -> tuple[bytes, int]:
            rows = conn().execute(sql, task).fetchall()
            return (b"".join([r[0] + b"\r\n" for r in rows]), len(rows))

        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="export") as pool:
                ahead: deque[Future[tuple[bytes, int]]] = deque()
                try:
                    for task in tasks:
                        ahead.append(pool.submit(run, task))
                        if len(ahead) > workers:
                            block = ahead.popleft().result()
                            if block[1]:
                                yield block
                    while ahead:
                        block = ahead.popleft().result()
                        if block[1]:
                            yield block
                finally:
                    for future in ahead:
                        future.cancel()
        except sqlite3.Error as exc:
            if classify_failure(exc) == "corrupt":
                raise self._damaged("read the cache for the export") from exc
            raise CacheError(f"Could not read the cache for the export: {exc}") from exc
        finally:
            for c in opened:
                c.close()

    @staticmethod
    def _id_ranges(conn: sqlite3.Connection, chunk: int) -> Iterator[tuple[int, int]]:
        """Id ranges holding about ``chunk`` rows each (ids are spread evenly enough)."""
        low, high, count = conn.execute("SELECT min(id), max(id), count(*) FROM errors").fetchone()
        if not count:
            return
        step = max(chunk, (high - low + 1) * chunk // count)
        for lo in range(low, high + 1, step):
            yield lo, min(lo + step - 1, high)
