"""The first fill of an empty cache from the service's snapshot (``GET /v1/snapshot``).

Chunks of errors by id go into the cache in bulk mode (no secondary indexes, totals or
trigram index until the end); the next chunk is asked for while one is stored. Each
chunk's transaction remembers the last id stored and the feed cursor of the first
chunk, so a fill cut short (a kill, the service gone) goes on after that id, and the
change feed then brings every change made since the snapshot began.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.data.cache import Cache
from tui.data.client_errors import BadResponse, ServiceRejected

if TYPE_CHECKING:
    from tui.data.client import ServiceClient

#: Errors asked for per snapshot request: what one chunk holds in memory (two at once).
SNAPSHOT_CHUNK = 5_000


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


async def fill_from_snapshot(
    client: ServiceClient,
    cache: Cache,
    reporter: Callable[[int | None], Callable[[int], None]],
    chunk_size: int = SNAPSHOT_CHUNK,
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
    try:
        chunk = await client.snapshot(after, chunk_size, count=True)
    except ServiceRejected as exc:
        if exc.status in (404, 405):  # a service from before the snapshot
            return None
        raise
    cursor = chunk.cursor if state is None else state[0]
    report, stored = reporter(chunk.remaining), 0
    while True:
        rows = in_column_order(chunk.columns, chunk.rows)
        ahead = (
            asyncio.ensure_future(client.snapshot(chunk.last_id, chunk_size))
            if chunk.has_more
            else None
        )
        try:
            await cache.apply_snapshot(rows, chunk.last_id, cursor, done=ahead is None)
        except BaseException:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            raise
        stored += len(rows)
        report(stored)
        if ahead is None:
            return stored
        chunk = await ahead
