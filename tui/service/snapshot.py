"""``GET /v1/snapshot``: every error by id, streamed as NDJSON, for a first fill.

A first fill over the change feed pays for the feed's order (``seq``) and its pages; the
snapshot walks the table by id instead and streams lines as it reads, so neither side
holds more than a page. The answer is::

    {"columns": [...], "cursor": C, "remaining": N, "max_id": M}
                                                        header (N with count=1, else null)
    [[row], [row], ...]                                 a page of rows, FEED_ROW_COLUMNS order
    ...
    {"end": true, "last_id": L, "has_more": false}      trailer (absent: cut short)

Everything is read in one read transaction (``Database.snapshot``), so the rows are the
ledger as of feed cursor ``C`` (the largest seq). A client that stores the chunks
``after`` = the previous ``last_id`` and then pulls the change feed from the cursor of
its *first* chunk misses nothing and doubles nothing: every change after that cursor
comes again through the feed (an upsert by id), every row not changed since is the same
in every later chunk.

``before`` bounds an answer to a range of ids, so a client can ask for several ranges at
once (the header's ``max_id``, the largest id as of ``C``, tells it where they end):
``has_more`` then says whether rows remain in the range.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from tui.core.limits import MAX_ID
from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.service.db import Connection, Database, DatabaseError
from tui.service.db.dialect import json_rows
from tui.service.ledger import CAUSE_OF_ROW

#: Rows in one NDJSON line (one ``executemany`` on the client's side).
LINE_ROWS = 1000
#: Rows one request may ask for; the client takes chunks of this many.
SNAPSHOT_MAX_LIMIT = 50_000
#: ``GET /v1/snapshot/database``: the rows as a SQLite database, what the NDJSON header
#: and trailer say in this response header, as JSON.
SQLITE_MEDIA = "application/vnd.sqlite3"
SNAPSHOT_HEADER = "Synchealth-Snapshot"
_LINE = orjson.OPT_APPEND_NEWLINE
log = logging.getLogger("tui.service")
#: A page of rows after an id, with each row's cause (the feed's columns; ``id`` is the
#: first of them, and selected once: PostgreSQL refuses a subquery with two ``id``).
_PAGE = (
    f"SELECT {', '.join(ERROR_COLUMNS)}, {CAUSE_OF_ROW} AS cause FROM errors "
    "WHERE id > ? AND id < ? ORDER BY id LIMIT ?"
)


async def snapshot_lines(
    db: Database, after: int, limit: int, *, before: int | None = None, count: bool = False
) -> AsyncIterator[bytes]:
    """The NDJSON lines of the rows with ``after < id < before`` (no upper bound when
    ``before`` is None; at most ``limit``); with
    ``count`` the header says how many rows there are after ``after`` (else null: a
    range count costs the rows it counts, so a fill asks once).

    The status line is sent before the first line, so a ledger that cannot be read
    ends the answer without its trailer: the client reads it as cut short, not as rows.
    """
    below = MAX_ID if before is None else before
    try:
        async with db.snapshot() as conn:
            async for line in _lines(conn, after, below, limit, count):
                yield line
    except DatabaseError as exc:
        log.warning("snapshot: reading the ledger after id %s failed: %s", after, exc)


async def snapshot_database(
    db: Database, after: int, limit: int, *, before: int | None = None, count: bool = False
) -> tuple[dict[str, Any], bytes]:
    """The rows ``snapshot_lines`` would send, as a SQLite database (table
    ``snapshot_rows``, FEED_ROW_COLUMNS, ``fields`` as JSON text), and what its header
    and trailer would say, with ``rows``, how many rows the database holds."""
    below = MAX_ID if before is None else before
    async with db.snapshot() as conn:
        header = await _header(conn, after, count)
        rows, last = await conn.fetchone(
            "SELECT count(*), coalesce(max(id), ?) FROM "
            "(SELECT id FROM errors WHERE id > ? AND id < ? ORDER BY id LIMIT ?) r",
            (after, after, below, limit),
        ) or (0, after)
        more = await _more(conn, last, below)
        data = await conn.rows_database(FEED_ROW_COLUMNS, _PAGE, (after, below, limit))
    return header | {"rows": rows, "last_id": last, "has_more": more}, data


async def _header(conn: Connection, after: int, count: bool) -> dict[str, Any]:
    """The columns, the feed cursor, the rows above ``after`` (with ``count``), the
    largest id."""
    cursor, remaining = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM errors"), None
    if count:
        remaining = await conn.fetchval("SELECT count(*) FROM errors WHERE id > ?", (after,))
    top = await conn.fetchval("SELECT coalesce(max(id), 0) FROM errors")
    return {"columns": FEED_ROW_COLUMNS, "cursor": cursor, "remaining": remaining, "max_id": top}


async def _more(conn: Connection, last: int, below: int) -> bool:
    """Whether rows remain above ``last`` (and below ``below``)."""
    more = await conn.fetchone(
        "SELECT 1 FROM errors WHERE id > ? AND id < ? LIMIT 1", (last, below)
    )
    return more is not None


async def _lines(
    conn: Connection, after: int, before: int, limit: int, count: bool
) -> AsyncIterator[bytes]:
    """Rows as JSON arrays made by the database: Python never holds a row's values."""
    line_sql = json_rows(conn.dialect, FEED_ROW_COLUMNS, {"fields"}, _PAGE)
    yield orjson.dumps(await _header(conn, after, count), option=_LINE)
    last, sent = after, 0
    while sent < limit:
        got = await conn.fetchone(line_sql, (last, before, min(LINE_ROWS, limit - sent)))
        assert got is not None  # an aggregate answers one row
        top, rows, text = got
        if not rows:
            break
        yield text.encode() + b"\n"
        last, sent = top, sent + rows
    more = await _more(conn, last, before)
    yield orjson.dumps({"end": True, "last_id": last, "has_more": more}, option=_LINE)
