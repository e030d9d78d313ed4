"""A new ledger written in bulk: the demo's errors, their attempts, usage and settings.

The service's own schema, statements and schema version (ledger.py, usage.py), written
through plain ``sqlite3`` in one transaction with ``synchronous=OFF``: a million errors
through the async :class:`~tui.service.ledger.Ledger` would cross its thread a row at a
time. The record index is built once at the end (``RECORD_INDEX``), as the ledger's
own open would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from tui.core.models import ERROR_COLUMNS
from tui.service.ledger import (
    FEED_COLUMNS,
    INSERT_ATTEMPT,
    RECORD_INDEX,
    SET_META,
    SET_SETTING,
    schema_sql,
)
from tui.service.migrations import SCHEMA_VERSION
from tui.service.usage import ADD_CALLS, ADD_HOURLY

#: A whole error row: ``ERROR_COLUMNS`` (tui/core/models.py) and its payload.
LOAD_ERROR = (
    f"INSERT INTO errors({FEED_COLUMNS}, payload) "
    f"VALUES ({', '.join('?' * (len(ERROR_COLUMNS) + 1))})"
)


class LedgerLoad:
    """``with LedgerLoad(path) as load:`` fills a new ledger; it commits on a clean exit.

    Anything raised inside the block rolls the whole load back, so a file never holds
    half a load. A file that already holds errors is refused (``ValueError``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> LedgerLoad:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(schema_sql())
            if conn.execute("SELECT COUNT(*) FROM errors").fetchone()[0]:
                raise ValueError(f"{self.path} already holds errors; load into a new file")
            conn.execute("BEGIN")
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        conn = self._connection
        try:
            if kind is None:
                conn.execute(RECORD_INDEX)
                conn.execute(SET_META, ("schema_version", str(SCHEMA_VERSION)))
                conn.execute("COMMIT")
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
            self._conn = None

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("LedgerLoad is used inside its with block only")
        return self._conn

    def errors(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Error rows in ``LOAD_ERROR``'s column order (ids and seqs the caller's)."""
        self._connection.executemany(LOAD_ERROR, rows)

    def attempts(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """(error_id, at, outcome, sf_code, message, request_id) rows."""
        self._connection.executemany(INSERT_ATTEMPT, rows)

    def usage(
        self, hourly: Iterable[tuple[str, int]], calls: Iterable[tuple[str, str, str, int]]
    ) -> None:
        """API calls per hour, and per (hour, kind, sObject)."""
        self._connection.executemany(ADD_HOURLY, hourly)
        self._connection.executemany(ADD_CALLS, calls)

    def meta(self, values: Mapping[str, str]) -> None:
        """The ledger's facts: ``org_name``, ``mode``, ``next_seq`` (the version is ours)."""
        self._connection.executemany(SET_META, values.items())

    def settings(self, values: Mapping[str, Any]) -> None:
        """Settings as the service reads them (JSON values)."""
        self._connection.executemany(
            SET_SETTING, [(key, orjson.dumps(value).decode()) for key, value in values.items()]
        )
