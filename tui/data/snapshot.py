"""The console's reading of a ``GET /v1/snapshot`` answer (tui/service/snapshot.py).

A chunk is read whole: a header, pages of rows, a trailer. A chunk without its trailer
was cut short and is refused, so a fill stores whole chunks or nothing of one. Only the
header and trailer are decoded here; the pages are decoded as the cache's writer
stores them (``page_rows``, called from tui/data/fill.py in the writer's thread).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from tui.core.models import FEED_ROW_COLUMNS

#: The response header of ``GET /v1/snapshot/database`` that says what the NDJSON
#: answer's header and trailer say (tui/service/snapshot.py).
SNAPSHOT_HEADER = "Synchealth-Snapshot"


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    """Rows by id as of feed cursor ``cursor``, in ``pages`` (each an NDJSON line, not
    decoded yet); ``remaining`` counted from ``after`` (None when not asked for);
    ``max_id`` the ledger's largest id then (None from a service without ranges)."""

    columns: list[str]
    cursor: int
    remaining: int | None
    pages: list[bytes]
    last_id: int
    has_more: bool
    max_id: int | None = None
    #: From ``GET /v1/snapshot/database``: the rows as a SQLite database (no pages), and
    #: how many it holds.
    database: bytes | None = None
    rows: int = 0


def _chunk(head: dict[str, Any], tail: dict[str, Any], **rest: Any) -> SnapshotChunk:
    """A chunk from what the answer's header (``head``) and trailer (``tail``) say: one
    object for the database answer, two lines for NDJSON. KeyError/TypeError when a key
    is missing."""
    return SnapshotChunk(
        columns=list(head["columns"]),
        cursor=int(head["cursor"]),
        remaining=None if head["remaining"] is None else int(head["remaining"]),
        last_id=int(tail["last_id"]),
        has_more=bool(tail["has_more"]),
        max_id=None if head.get("max_id") is None else int(head["max_id"]),
        **rest,
    )


def parse_snapshot(body: bytes) -> SnapshotChunk:
    """The chunk in an NDJSON ``body``; ValueError saying what is wrong with it."""
    lines = body.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2:
        raise ValueError("it has no header or no trailer")
    try:
        header, trailer = orjson.loads(lines[0]), orjson.loads(lines[-1])
        if not isinstance(trailer, dict) or trailer.get("end") is not True:
            raise ValueError("it was cut short (no trailer)")
        return _chunk(header, trailer, pages=lines[1:-1])
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a line is not JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the header or trailer lacks a key ({exc})") from exc


def parse_snapshot_database(header: str | None, body: bytes) -> SnapshotChunk:
    """The chunk of a ``GET /v1/snapshot/database`` answer: its header (the response
    header ``Synchealth-Snapshot``) and the database; ValueError saying what is wrong.
    The database itself is checked as it is stored (``SnapshotStore``)."""
    if header is None:
        raise ValueError("it has no Synchealth-Snapshot header")
    try:
        head = orjson.loads(header)
        return _chunk(head, head, pages=[], database=body, rows=int(head["rows"]))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"its header is not JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise ValueError(f"its header lacks a key ({exc})") from exc


#: Reads every page of a chunk's database and checks its columns and ``fields``.
_CHECK = (
    f"SELECT count(*), ifnull(sum(json_valid(fields) = 0), 0) FROM (SELECT "
    f"{', '.join(FEED_ROW_COLUMNS)} FROM snapshot_rows)"
)


def check_database(chunk: SnapshotChunk) -> None:
    """ValueError unless the chunk's database can be read whole and holds the rows its
    header says, with every column, ``fields`` JSON. Checked apart from the cache, in
    a connection of its own (run in a thread: SQLite lets go of the GIL), so that a
    damaged chunk is never taken for a damaged cache file."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(chunk.database or b"")
        rows, bad = conn.execute(_CHECK).fetchone()
    except sqlite3.Error as exc:
        raise ValueError(f"its database cannot be read ({exc})") from exc
    finally:
        conn.close()
    if rows != chunk.rows or bad:
        raise ValueError(
            f"its database holds {rows:,} rows ({bad:,} with unreadable fields), not {chunk.rows:,}"
        )


def page_rows(line: bytes) -> list[list[Any]]:
    """The rows of one page line; ValueError saying what is wrong with it."""
    try:
        page = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a line is not JSON ({exc})") from exc
    if not isinstance(page, list):
        raise ValueError("a page is not a list of rows")
    return page
