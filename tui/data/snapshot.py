"""The console's reading of a ``GET /v1/snapshot`` answer (tui/service/snapshot.py).

A chunk is read whole: a header, pages of rows, a trailer. A chunk without its trailer
was cut short and is refused, so a fill stores whole chunks or nothing of one. Only the
header and trailer are decoded here; the pages are decoded as the cache's writer
stores them (``page_rows``, called from tui/data/fill.py in the writer's thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


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
        return SnapshotChunk(
            columns=list(header["columns"]),
            cursor=int(header["cursor"]),
            remaining=None if header["remaining"] is None else int(header["remaining"]),
            pages=lines[1:-1],
            last_id=int(trailer["last_id"]),
            has_more=bool(trailer["has_more"]),
            max_id=None if header.get("max_id") is None else int(header["max_id"]),
        )
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a line is not JSON ({exc})") from exc
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the header or trailer lacks a key ({exc})") from exc


def page_rows(line: bytes) -> list[list[Any]]:
    """The rows of one page line; ValueError saying what is wrong with it."""
    try:
        page = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"a line is not JSON ({exc})") from exc
    if not isinstance(page, list):
        raise ValueError("a page is not a list of rows")
    return page
