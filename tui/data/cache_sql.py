"""The SQL that the cache's writes and queries share: a view filter as a condition, a
row as an ``ErrorRow``, the selects of the totals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui.data.values import ErrorRow, ViewFilter

#: (level, grouping expression, status counted) of the totals table; the open errors of
#: all types (the last) come last.
AGG_LEVELS = (
    ("ignored", "e.type", "ignored"),
    ("sub", "e.subtype", "open"),
    ("type", "e.type", "open"),
    ("all", "''", "open"),
)


def error_row(t: Sequence[Any]) -> ErrorRow:
    """A row of the cache's ``errors`` table (ROW_COLUMNS) as an ``ErrorRow``."""
    fields = tuple(t[11].split(";")) if t[11] else ()
    return ErrorRow(*t[:11], fields, *t[12:])  # type: ignore[call-arg]


def like_pattern(text: str) -> str:
    """A LIKE pattern (ESCAPE '\\') matching ``text`` literally anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Errors of the records a page touches (CROSS JOIN keeps the small table outside).
TOUCHED = (
    "temp.touched t CROSS JOIN errors e "
    "ON e.record_id = t.record_id AND e.object_type = t.object_type"
)
TEXT_COLUMNS = ("record_name", "message", "sf_id", "record_id", "sf_code")


def record_totals_select(source: str) -> str:
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
    # a cause implies its type: left out, a count of the cause stays inside its index
    implied = f.cause is not None and f.cause.subtype.startswith(f"{f.type}.")
    for column, value in (
        ("status", f.status),
        ("type", None if implied else f.type),
        ("subtype", f.subtype),
        ("record_id", f.record_id),
    ):
        if value is not None:
            clauses.append(f"{p}{column} = ?")
            params.append(value)
    if f.cause is not None:  # all four, so the cause index is walked in last-seen order
        clauses.append(f"{p}cause = ? AND {p}subtype = ? AND {p}sf_object = ?")
        params.extend((f.cause.key, f.cause.subtype, f.cause.sf_object))
    if f.text and search and len(f.text) >= FTS_MIN_CHARS:
        clauses.append(f"{p}id IN (SELECT rowid FROM errors_fts WHERE errors_fts MATCH ?)")
        params.append(fts_phrase(f.text))
    elif f.text:
        pattern = like_pattern(f.text)
        clauses.append("(" + " OR ".join(f"{p}{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS) + ")")
        params.extend([pattern] * len(TEXT_COLUMNS))
    return (" AND ".join(clauses) or "1"), params


def totals_selects(sign: int, source: str) -> list[str]:
    """SELECTs of (level, key, errors, records) for the errors of ``source``."""
    selects = []
    for level, key, status in AGG_LEVELS:
        group = "" if key == "''" else f"GROUP BY {key}"
        selects.append(
            f"SELECT '{level}', {key}, {sign} * count(*), "
            f"{sign} * count(DISTINCT e.object_type || char(31) || e.record_id) "
            f"FROM {source} WHERE +e.status = '{status}' {group}"
        )
    return selects
