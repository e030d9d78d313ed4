"""The first fill of an empty cache from the service's snapshot (``GET /v1/snapshot``).

Chunks of errors by id go into the cache in bulk mode (no secondary indexes, totals or
trigram index until the end), several to a transaction; the next chunk is asked for
while one is stored. Each chunk remembers, in its transaction, the last id stored and
the feed cursor of the first chunk, so a fill cut short (a kill, the service gone)
goes on after the last id committed, and the change feed then brings every change
made since the snapshot began.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.data.cache import Cache
from tui.data.cache_feed import RowsDatabase, join_fields
from tui.data.client_errors import BadResponse, ServiceRejected
from tui.data.snapshot import SnapshotChunk, page_rows

if TYPE_CHECKING:
    from tui.data.client import ServiceClient

#: Errors asked for per snapshot request: what one chunk holds in memory (two at once).
SNAPSHOT_CHUNK = 5_000
#: Chunks stored in one transaction (bench/README.md, issue 11, fourth round).
CHUNKS_PER_COMMIT = 4
#: Snapshot requests in flight while a chunk is stored (bench/README.md, issue 11, fill).
REQUESTS_AHEAD = 2


def in_column_order(columns: list[str], rows: list[list[Any]]) -> list[list[Any]]:
    """Rows in FEED_ROW_COLUMNS order, checked; BadResponse when they cannot be. A
    service that sends no cause key (from before it) gives rows a null one."""
    if columns != list(FEED_ROW_COLUMNS):
        if any(not isinstance(r, list) or len(r) != len(columns) for r in rows):
            raise BadResponse("The service sent an error row of the wrong shape.")
        try:
            where = [columns.index(c) for c in ERROR_COLUMNS]
        except ValueError as exc:
            raise BadResponse(f"The service's errors lack a column ({exc}).") from exc
        at = columns.index("cause") if "cause" in columns else None
        return [[*(r[i] for i in where), None if at is None else r[at]] for r in rows]
    width = len(FEED_ROW_COLUMNS)
    if any(not isinstance(r, list) or len(r) != width for r in rows):
        raise BadResponse("The service sent an error row of the wrong shape.")
    return rows


class ChunkRows:
    """The rows of a snapshot chunk, decoded, put in column order and checked as they are
    read: the cache's writer reads them in its thread inside ``executemany``, so the
    event loop is free for the next chunk's request meanwhile, and decoding and storing
    a row never wait for each other's turn at the GIL (a decoding on the loop held it
    while the writer, taking it back after every row it stepped, waited). A page that
    cannot be read raises BadResponse there, and its transaction is rolled back."""

    def __init__(self, chunk: SnapshotChunk) -> None:
        self._chunk = chunk
        #: Rows read so far (all of them once ``executemany`` is done).
        self.count = 0

    def __iter__(self) -> Iterator[list[Any]]:
        columns = self._chunk.columns
        for line in self._chunk.pages:
            try:
                rows = in_column_order(columns, page_rows(line))
            except ValueError as exc:
                raise BadResponse(
                    f"The service sent a snapshot of errors that cannot be read: {exc}."
                ) from exc
            join_fields(rows)
            self.count += len(rows)
            yield from rows


async def _first(client: ServiceClient, after: int, size: int) -> SnapshotChunk | None:
    """The first chunk, as a SQLite database, else as NDJSON from a service from before
    the database answer; None from a service from before the snapshot."""
    for database in (True, False):
        try:
            return await client.snapshot(after, size, count=True, database=database)
        except ServiceRejected as exc:
            if exc.status not in (404, 405):
                raise
    return None


def _rows(chunk: SnapshotChunk) -> ChunkRows | RowsDatabase:
    if chunk.database is None:
        return ChunkRows(chunk)
    return RowsDatabase(chunk.database, chunk.rows)


class _Requests:
    """The snapshot requests of a fill after its first chunk, up to ``depth`` in flight,
    answered in the order of their ids: ranges of ``size`` ids up to the first chunk's
    ``max_id`` (each holds at most ``size`` rows, so each is answered whole), then on
    after the last id while the service says rows remain (all of them from a service
    without ranges). A chunk is stored only after every chunk before it, so the resume
    point, each chunk's ``through``, is always the end of a prefix stored whole."""

    def __init__(self, client: ServiceClient, first: SnapshotChunk, size: int, depth: int) -> None:
        self._client, self._size, self._depth = client, size, depth
        self._database = first.database is not None
        self._ahead: deque[asyncio.Future[tuple[SnapshotChunk, int]]] = deque()
        self._top = first.max_id if first.has_more and first.max_id is not None else 0
        self._lows = iter(range(first.last_id, self._top, size))

    def ask(self, latest: SnapshotChunk) -> bool:
        """Keep the requests after ``latest`` in flight; False when none is left."""
        while len(self._ahead) < self._depth:
            low = next(self._lows, None)
            if low is None:
                break
            high = low + self._size
            before = high + 1 if high < self._top else None  # the last range: to the end
            self._ahead.append(asyncio.ensure_future(self._range(low, before)))
        if not self._ahead and latest.has_more:
            self._ahead.append(asyncio.ensure_future(self._range(latest.last_id, None)))
        return bool(self._ahead)

    async def _range(self, after: int, before: int | None) -> tuple[SnapshotChunk, int]:
        """A chunk and the id it covers through (every id up to it is in it)."""
        chunk = await self._client.snapshot(
            after, self._size, before=before, database=self._database
        )
        if before is None:
            return chunk, chunk.last_id
        if chunk.has_more:
            raise BadResponse("The service sent part of a range of errors as if it were all.")
        return chunk, before - 1

    async def next(self) -> tuple[SnapshotChunk, int]:
        return await self._ahead.popleft()

    async def cancel(self) -> None:
        for ahead in self._ahead:
            ahead.cancel()
        await asyncio.gather(*self._ahead, return_exceptions=True)


async def fill_from_snapshot(
    client: ServiceClient,
    cache: Cache,
    reporter: Callable[[int | None], Callable[[int], None]],
    chunk_size: int = SNAPSHOT_CHUNK,
    chunks_per_commit: int = CHUNKS_PER_COMMIT,
    depth: int = REQUESTS_AHEAD,
) -> int | None:
    """Store the service's snapshot; the rows stored, or None when the feed must fill
    instead (a service without the snapshot, or a cache that a feed fill began).

    ``reporter(coming)`` is told how many rows are still to come and returns what to
    call with the rows stored so far.
    """
    state = await cache.snapshot_state()
    if state is None and await cache.row_count():
        return None
    after = 0 if state is None else state[1]
    chunk = await _first(client, after, chunk_size)
    if chunk is None:
        return None
    cursor = chunk.cursor if state is None else state[0]
    report, stored = reporter(chunk.remaining), 0
    requests, through = _Requests(client, chunk, chunk_size, depth), chunk.last_id
    try:
        async with cache.snapshot_store(chunks_per_commit) as store:
            while True:
                rows = _rows(chunk)
                more = requests.ask(chunk)
                await store.put(rows, through, cursor, done=not more)
                stored += chunk.rows if isinstance(rows, RowsDatabase) else rows.count
                report(stored)
                if not more:
                    return stored
                chunk, through = await requests.next()
    finally:
        await requests.cancel()
