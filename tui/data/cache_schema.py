"""The cache file's schema: its tables, the text index's triggers, the secondary indexes.

A file whose ``meta.schema_version`` is not ``SCHEMA_VERSION`` is created again
(``Cache._create_schema``): the cache is a mirror, the service refills it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from tui.core.models import ERROR_COLUMNS
from tui.data.values import SORT_COLUMNS

#: Version 5: ignored errors (status 'ignored') and their totals per type. Version 6: the
#: cause key of each error (``errors.cause``) and its index, for the cause filter.
#: Version 7: ``subtype_order``, the Error column's order of the subtypes' names.
SCHEMA_VERSION = 7

#: Columns of the cache's ``errors`` table: ERROR_COLUMNS (fields joined with ';').
ROW_COLUMNS = ", ".join(c for c in ERROR_COLUMNS if c != "seq")
FIELDS_AT = ERROR_COLUMNS.index("fields")

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
    status      TEXT NOT NULL,
    cause       TEXT                -- the cause key (tui/core/causes.py) the service sent, or NULL
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
-- the subtypes in the order of the names the Error column shows, one ranking per
-- language and column width (SubtypeNames.ranking): a sort by subtype walks this table
-- and, for each subtype, errors_by_subtype, so a page costs the page (cache_order.py)
CREATE TABLE subtype_order (
    ranking  TEXT NOT NULL,
    position INTEGER NOT NULL,
    code     TEXT NOT NULL,
    PRIMARY KEY (ranking, position)
) WITHOUT ROWID;
-- substrings of the columns the text filter searches (external content: errors)
CREATE VIRTUAL TABLE errors_fts USING fts5(
    record_name, message, sf_id, record_id, sf_code,
    content = 'errors', content_rowid = 'id', tokenize = 'trigram'
);
-- resync batches written before they are sent, so a killed process re-sends the same id
CREATE TABLE pending_resync (
    request_id TEXT PRIMARY KEY,
    ids        TEXT NOT NULL,       -- JSON list of error ids
    state      TEXT NOT NULL,       -- pending
    created    TEXT NOT NULL
);
"""


#: The triggers that keep ``errors_fts`` in step with every write once it is built (meta
#: fts = 1); a REPLACE's delete fires with recursive_triggers, which every connection of
#: the cache turns on. A first fill drops them (``_enter_bulk``): even answered "no" by
#: their ``WHEN``, they cost each inserted row a lookup of meta, a third of the rows'
#: store time; ``build_search_index`` creates them again with the index.
FTS_TRIGGERS = """
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
"""
FTS_TRIGGER_NAMES = ("errors_fts_insert", "errors_fts_delete", "errors_fts_update")


def sort_index(column: str) -> str:
    """Index name serving ``ORDER BY column, id``: (column, id) then the filter columns."""
    return f"errors_by_{column}"


#: Secondary indexes: created after a bulk fill, dropped before one. Every sort the
#: console offers has one on (sort column, id, type, status), so a page in any order is
#: a range of one index, filtered by type and status without touching the table.
INDEXES = {
    "errors_status_seen": "errors(status, last_seen)",
    "errors_type_seen": "errors(type, status, last_seen)",
    "errors_record": "errors(record_id, object_type, status)",
    # a cause's errors in last-seen order, and (cause NULL) those not keyed yet
    "errors_cause": "errors(cause, subtype, sf_object, status, last_seen, id)",
    **{
        sort_index(c): f"errors({', '.join(dict.fromkeys((c, 'id', 'type', 'status')))})"
        for c in SORT_COLUMNS
        if c != "id"
    },
}


def statements(script: str) -> Iterator[str]:
    """The complete SQL statements of ``script`` (a trigger's body stays whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
