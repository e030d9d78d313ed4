"""What the ledger says about a range of new errors: the facts a message is built from.

New errors are rows with ``after_id < id <= upto_id`` (ids only grow). A record that
fails again the same way updates its existing row instead of adding one, so it is
not announced twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.service.db import Connection

TOP = 5
LATEST = 5
_RANGE = "id > ? AND id <= ?"
#: A record's key: the unit separator as a literal, which both engines read (SQLite's
#: ``char(31)`` is ``chr(31)`` on PostgreSQL).
_RECORD = "object_type || '\x1f' || record_id"


@dataclass(frozen=True, slots=True)
class LatestError:
    id: int
    type: str
    subtype: str
    object_type: str
    record_id: str
    record_name: str
    message: str


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    count: int
    records: int
    by_type: list[tuple[str, int]]  # most first
    top_messages: list[tuple[str, str, int]]  # (sf_code, message, count), most first
    latest: list[LatestError]  # newest first
    open_now: int


async def max_error_id(conn: Connection) -> int:
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM errors") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _all(conn: Connection, sql: str, args: tuple[Any, ...]) -> list[Sequence[Any]]:
    async with conn.execute(sql, args) as cur:
        return list(await cur.fetchall())


async def summarize(conn: Connection, after_id: int, upto_id: int) -> ErrorSummary:
    span = (after_id, upto_id)
    [(count, records)] = await _all(
        conn, f"SELECT COUNT(*), COUNT(DISTINCT {_RECORD}) FROM errors WHERE {_RANGE}", span
    )
    by_type = await _all(
        conn,
        f"SELECT type, COUNT(*) AS n FROM errors WHERE {_RANGE} GROUP BY type "
        "ORDER BY n DESC, type",
        span,
    )
    top = await _all(
        conn,
        f"SELECT sf_code, message, COUNT(*) AS n FROM errors WHERE {_RANGE} "
        "GROUP BY sf_code, message ORDER BY n DESC, MIN(id) LIMIT ?",
        (*span, TOP),
    )
    latest = await _all(
        conn,
        "SELECT id, type, subtype, object_type, record_id, record_name, message FROM errors "
        f"WHERE {_RANGE} ORDER BY id DESC LIMIT ?",
        (*span, LATEST),
    )
    [(open_now,)] = await _all(conn, "SELECT COUNT(*) FROM errors WHERE status = 'open'", ())
    return ErrorSummary(
        count=count,
        records=records,
        by_type=[(t, n) for t, n in by_type],
        top_messages=[(c, m, n) for c, m, n in top],
        latest=[LatestError(*row) for row in latest],
        open_now=open_now,
    )
