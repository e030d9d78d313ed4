"""The cache read for an export: blocks of CSV lines formatted inside SQLite, in threads."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tui.data.cache_connections import CacheConnections
from tui.data.cache_file import CacheError, classify_failure
from tui.data.values import ViewFilter


class ExportBlocks(CacheConnections):
    """Streaming the cache's rows as text lines for ``tui/data/export.py``."""

    def _export_connection(self, titles: dict[str, str]) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"file:{self.path}?mode=ro",
            uri=True,
            timeout=self.busy_timeout,
            check_same_thread=False,
        )
        conn.execute("PRAGMA cache_size = -16000")
        conn.text_factory = bytes  # the lines go to a file as UTF-8: never decode them
        conn.execute("CREATE TEMP TABLE titles (subtype TEXT PRIMARY KEY, title TEXT)")
        conn.executemany("INSERT INTO temp.titles VALUES (?, ?)", titles.items())
        return conn

    def iter_lines(
        self,
        line: str,
        f: ViewFilter | None,
        ids: Sequence[int] | None,
        titles: dict[str, str],
        *,
        chunk: int = 20000,
        workers: int = 1,
    ) -> Iterator[tuple[bytes, int]]:
        """Blocks of text lines ``SELECT {line} FROM errors e LEFT JOIN temp.titles t``.

        Each block is ``(utf8_bytes, rows)``, every line ending in CRLF, blocks in order: by
        id, or in the order of ``ids``. The rows are formatted inside SQLite by
        ``workers`` threads on their own read-only connections (SQLite runs without the
        GIL, so one worker overlaps with the consumer's writing; more contend on
        SQLite's allocator), at most ``workers + 1`` blocks ahead of the consumer, so
        the whole set is never in memory. Call it from a thread.
        """
        cond, params = self._where(f or ViewFilter(status=None), "e")
        source = "errors e LEFT JOIN temp.titles t ON t.subtype = e.subtype"
        local = threading.local()
        opened: list[sqlite3.Connection] = []

        def conn() -> sqlite3.Connection:
            c = getattr(local, "conn", None)
            if c is None:
                c = local.conn = self._export_connection(titles)
                opened.append(c)
            return c

        if ids is None:
            sql = f"SELECT {line} FROM {source} WHERE e.id BETWEEN ? AND ? AND {cond} ORDER BY e.id"
            tasks: Iterator[list[Any]] = (
                [lo, hi, *params] for lo, hi in self._id_ranges(conn(), chunk)
            )
        else:
            sql = (
                f"SELECT {line} FROM json_each(?) j JOIN errors e ON e.id = j.value "
                f"LEFT JOIN temp.titles t ON t.subtype = e.subtype WHERE {cond} ORDER BY j.key"
            )
            tasks = (
                [json.dumps(list(ids[i : i + chunk])), *params] for i in range(0, len(ids), chunk)
            )

        def run(task: list[Any]) -> tuple[bytes, int]:
            rows = conn().execute(sql, task).fetchall()
            return (b"".join([r[0] + b"\r\n" for r in rows]), len(rows))

        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="export") as pool:
                ahead: deque[Future[tuple[bytes, int]]] = deque()
                try:
                    for task in tasks:
                        ahead.append(pool.submit(run, task))
                        if len(ahead) > workers:
                            block = ahead.popleft().result()
                            if block[1]:
                                yield block
                    while ahead:
                        block = ahead.popleft().result()
                        if block[1]:
                            yield block
                finally:
                    for future in ahead:
                        future.cancel()
        except sqlite3.Error as exc:
            if classify_failure(exc) == "corrupt":
                raise self._damaged("read the cache for the export") from exc
            raise CacheError(f"Could not read the cache for the export: {exc}") from exc
        finally:
            for c in opened:
                c.close()

    @staticmethod
    def _id_ranges(conn: sqlite3.Connection, chunk: int) -> Iterator[tuple[int, int]]:
        """Id ranges holding about ``chunk`` rows each (ids are spread evenly enough)."""
        low, high, count = conn.execute("SELECT min(id), max(id), count(*) FROM errors").fetchone()
        if not count:
            return
        step = max(chunk, (high - low + 1) * chunk // count)
        for lo in range(low, high + 1, step):
            yield lo, min(lo + step - 1, high)
