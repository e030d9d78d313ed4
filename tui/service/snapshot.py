"""``GET /v1/snapshot``: every error by id, streamed as NDJSON, for a first fill.

A first fill over the change feed pays for the feed's order (``seq``) and its pages; the
snapshot walks the table by id instead and streams lines as it reads, so neither side
holds more than a page. The answer is::

    {"columns": [...], "cursor": C, "remaining": N}   header (N with count=1, else null)
    [[row], [row], ...]                                 a page of rows, FEED_ROW_COLUMNS order
    ...
    {"end": true, "last_id": L, "has_more": false}      trailer (absent: cut short)

Everything is read in one read transaction of its own connection, so the rows are the
ledger as of feed cursor ``C`` (the largest seq). A client that stores the chunks
``after`` = the previous ``last_id`` and then pulls the change feed from the cursor of
its *first* chunk misses nothing and doubles nothing: every change after that cursor
comes again through the feed (an upsert by id), every row not changed since is the same
in every later chunk.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import orjson

from tui.core.models import ERROR_COLUMNS, FEED_ROW_COLUMNS
from tui.service.ledger import CAUSE_OF_ROW

#: Rows in one NDJSON line (one ``executemany`` on the client's side).
LINE_ROWS = 1000
#: Rows one request may ask for; the client takes chunks of this many.
SNAPSHOT_MAX_LIMIT = 50_000
_LINE = orjson.OPT_APPEND_NEWLINE
log = logging.getLogger("tui.service")
#: A row as a JSON array, made by SQLite: Python never holds the row's values.
_ROW_JSON = (
    "json_array("
    + ", ".join("json(fields)" if c == "fields" else c for c in ERROR_COLUMNS)
    + f", {CAUSE_OF_ROW})"
)
#: One line of rows after an id: (last id, rows, the line's JSON text).
_LINE_SQL = (
    "SELECT max(id), count(*), '[' || group_concat(j, ',') || ']' FROM "
    f"(SELECT id, {_ROW_JSON} AS j FROM errors WHERE id > ? ORDER BY id LIMIT ?)"
)


async def snapshot_lines(
    ledger: Path, after: int, limit: int, *, count: bool = False
) -> AsyncIterator[bytes]:
    """The NDJSON lines of the rows with ``id > after`` (at most ``limit``); with
    ``count`` the header says how many rows there are after ``after`` (else null: a
    range count costs the rows it counts, so a fill asks once).

    The status line is sent before the first line, so a ledger that cannot be read
    ends the answer without its trailer: the client reads it as cut short, not as rows.
    """
    try:
        conn = await aiosqlite.connect(f"file:{ledger}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        log.warning("snapshot: cannot open the ledger: %s", exc)
        return
    try:
        async for line in _lines(conn, after, limit, count):
            yield line
    except sqlite3.Error as exc:
        log.warning("snapshot: reading the ledger after id %s failed: %s", after, exc)
    finally:
        await conn.close()  # ends the read transaction


async def _lines(
    conn: aiosqlite.Connection, after: int, limit: int, count: bool
) -> AsyncIterator[bytes]:
    await conn.execute("PRAGMA busy_timeout = 5000")
    await conn.execute("BEGIN")  # one read snapshot for the header and every line
    got = await conn.execute_fetchall("SELECT coalesce(max(seq), 0) FROM errors")
    cursor, remaining = next(iter(got))[0], None
    if count:
        got = await conn.execute_fetchall("SELECT count(*) FROM errors WHERE id > ?", (after,))
        remaining = next(iter(got))[0]
    header = {"columns": FEED_ROW_COLUMNS, "cursor": cursor, "remaining": remaining}
    yield orjson.dumps(header, option=_LINE)
    last, sent = after, 0
    while sent < limit:
        got = await conn.execute_fetchall(_LINE_SQL, (last, min(LINE_ROWS, limit - sent)))
        top, rows, text = next(iter(got))
        if not rows:
            break
        yield text.encode() + b"\n"
        last, sent = top, sent + rows
    more = await conn.execute_fetchall("SELECT 1 FROM errors WHERE id > ? LIMIT 1", (last,))
    yield orjson.dumps({"end": True, "last_id": last, "has_more": bool(list(more))}, option=_LINE)
