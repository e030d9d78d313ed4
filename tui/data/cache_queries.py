"""The console's queries of the cache: counts, pages of a view in any order, positions,
affected records. Each answers empty while a first fill is not indexed yet."""

from __future__ import annotations

import json
from array import array
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from tui.core.models import ERROR_TYPES
from tui.data.cache_order import SubtypeOrder
from tui.data.cache_schema import ROW_COLUMNS
from tui.data.cache_sql import error_row, like_pattern
from tui.data.values import (
    ErrorRow,
    RecordCount,
    SortColumn,
    SubtypeCount,
    SubtypeNames,
    TypeCount,
    ViewFilter,
    ViewOrder,
)


class ViewQueries(SubtypeOrder):
    """What the console's views ask of the cache."""

    async def _totals(self, level: str) -> dict[str, tuple[int, int]]:
        got = await self._fetchall(
            "SELECT key, errors, records FROM totals WHERE level = ?", (level,)
        )
        return {k: (e, r) for k, e, r in got}

    async def type_counts(self) -> list[TypeCount]:
        """Open errors, distinct affected records and ignored errors for all 8 types, zeros
        included."""
        totals, ignored = await self._totals("type"), await self._totals("ignored")
        return [
            TypeCount(t, *totals.get(t, (0, 0)), ignored=ignored.get(t, (0, 0))[0])
            for t in ERROR_TYPES
        ]

    async def subtype_counts(self, type: str) -> list[SubtypeCount]:
        """Open errors per subtype of ``type`` (subtypes with errors), most errors first."""
        got = await self._fetchall(
            "SELECT key, errors, records FROM totals WHERE level = 'sub' AND key LIKE ? "
            "ESCAPE '\\' AND errors > 0 ORDER BY errors DESC, key",
            (like_pattern(type + ".")[1:],),
        )
        return [SubtypeCount(*r) for r in got]

    @staticmethod
    def _totals_key(f: ViewFilter) -> tuple[str, str] | None:
        """The aggregate that answers ``f`` directly, if any (open errors, no text/record)."""
        if f.status != "open" or f.text or f.record_id is not None or f.cause is not None:
            return None
        if f.subtype is not None:
            if f.type is not None and not f.subtype.startswith(f.type + "."):
                return None
            return ("sub", f.subtype)
        if f.type is not None:
            return ("type", f.type)
        return ("all", "")

    async def _count_via_totals(self, f: ViewFilter, column: int) -> int | None:
        key = self._totals_key(f)
        if key is None:
            return None
        got = await self._fetchall(
            "SELECT errors, records FROM totals WHERE level = ? AND key = ?", key
        )
        return got[0][column] if got else 0

    async def count(self, f: ViewFilter) -> int:
        if self.filling:  # the first fill is not indexed yet
            return 0
        fast = await self._count_via_totals(f, 0)
        if fast is not None:
            return fast
        cond, params = self._where(f)
        got = await self._fetchall_for(f, f"SELECT count(*) FROM errors WHERE {cond}", params)
        return int(got[0][0])

    async def view_ids(
        self,
        f: ViewFilter,
        sort: SortColumn = "last_seen",
        descending: bool = True,
        *,
        names: SubtypeNames = SubtypeNames(),
    ) -> array[int]:
        """Every id of ``f`` in view order, as array('q'): for "mark all", never for paging."""
        if self.filling:  # the first fill is not indexed yet
            return array("q")
        order = ViewOrder(sort, descending, names)
        source, joined, _ = await self._source(f, order)
        cond, params = self._where(f)
        ids = array("q")
        async with (
            self._guard("read the cache"),
            self._conn_for(f).execute(
                f"SELECT id FROM {source} WHERE {cond} ORDER BY {order.sql}", [*joined, *params]
            ) as cur,
        ):
            while chunk := await cur.fetchmany(65536):
                ids.extend(r[0] for r in chunk)
        return ids

    async def view_page(
        self,
        f: ViewFilter,
        order: ViewOrder = ViewOrder(),
        *,
        offset: int = 0,
        limit: int = 100,
        after: ErrorRow | None = None,
        before: ErrorRow | None = None,
        total: int | None = None,
    ) -> list[ErrorRow]:
        """At most ``limit`` rows of ``f`` in ``order``: one page, never the whole view.

        With ``after`` (or ``before``): the rows right after (before) that row of the view,
        found from its sort key along an index (keyset paging: the cost of the page, however
        deep). Else the rows from position ``offset``; given the view's ``total``, a page
        nearer the end is read backwards from the end, so it costs at most half the view.
        """
        if self.filling:  # the first fill is not indexed yet
            return []
        limit = max(0, int(limit))
        if after is not None:
            return await self._keyset(f, order, after, limit)
        if before is not None:
            return (await self._keyset(f, order.reversed(), before, limit))[::-1]
        offset = max(0, int(offset))
        if total is not None and offset >= total:
            return []  # nothing there: looking would walk the sort's whole index (0.15-0.44 s)
        if total is not None and offset > total // 2:
            n = max(0, min(limit, total - offset))
            return (await self._offset(f, order.reversed(), total - offset - n, n))[::-1]
        return await self._offset(f, order, offset, limit)

    async def _offset(
        self, f: ViewFilter, order: ViewOrder, offset: int, limit: int
    ) -> list[ErrorRow]:
        if not limit:
            return []
        source, joined, _ = await self._source(f, order)
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT {ROW_COLUMNS} FROM {source} WHERE {cond} "
            f"ORDER BY {order.sql} LIMIT ? OFFSET ?",
            [*joined, *params, limit, offset],
        )
        return [error_row(t) for t in got]

    async def _after(
        self, f: ViewFilter, order: ViewOrder, row: ErrorRow
    ) -> AsyncIterator[tuple[str, str, list[Any], str]]:
        """The ranges (source, WHERE, params, ORDER BY) that follow ``row`` in ``order``,
        in turn: first its ties (same sort value: for subtypes, the same subtype; further
        id) along the sort's index, then the further sort values; two index ranges, where
        one row-value range would step over every tie. A caller stops when it has enough."""
        cond, params = self._where(f)
        beyond = "<" if order.descending else ">"
        narrowing = await self._narrowing(f)  # once for both ranges
        table = self._table(order, narrowing)
        if order.sort == "id":
            yield table, f"{cond} AND id {beyond} ?", [*params, row.id], order.sql
            return
        value = getattr(row, order.sort)
        ties = f"id {'DESC' if order.descending else 'ASC'}"
        where = f"{cond} AND {order.sort} = ? AND id {beyond} ?"
        yield table, where, [*params, value, row.id], ties
        source, joined, positions = await self._source_narrowed(f, order, narrowing)
        key = positions.get(value) if order.sort == "subtype" else value
        if key is not None:  # else no error of the row's subtype is left to place it by
            where = f"{cond} AND {order.key} {beyond} ?"
            yield source, where, [*joined, *params, key], order.sql

    async def _keyset(
        self, f: ViewFilter, order: ViewOrder, row: ErrorRow, limit: int
    ) -> list[ErrorRow]:
        """At most ``limit`` rows following ``row`` in ``order``."""
        got: list[Any] = []
        async for source, where, params, by in self._after(f, order, row):
            if len(got) >= limit:
                break
            got += await self._fetchall_for(
                f,
                f"SELECT {ROW_COLUMNS} FROM {source} WHERE {where} ORDER BY {by} LIMIT ?",
                [*params, limit - len(got)],
            )
        return [error_row(t) for t in got]

    async def position(
        self, f: ViewFilter, order: ViewOrder, error_id: int, *, within: int = 20_000
    ) -> int | None:
        """Where error ``error_id`` stands in the view (0-based), if among its first
        ``within`` rows (counting them costs their number, in SQLite: no id comes to
        Python); None when not, or not in it."""
        if self.filling:  # the first fill is not indexed yet
            return None
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f, f"SELECT {ROW_COLUMNS} FROM errors WHERE {cond} AND id = ?", [*params, error_id]
        )
        if not got:
            return None
        ahead = 0
        async for source, where, range_params, _ in self._after(
            f, order.reversed(), error_row(got[0])
        ):
            if ahead >= within:
                break
            counted = await self._fetchall_for(
                f,
                f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)",
                [*range_params, within - ahead],
            )
            ahead += int(counted[0][0])
        return None if ahead >= within else ahead

    async def in_view(self, f: ViewFilter, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are in the view ``f``."""
        if self.filling:  # the first fill is not indexed yet
            return set()
        return await self._present(f, ids)

    async def _present(self, f: ViewFilter, ids: Sequence[int]) -> set[int]:
        if not len(ids):
            return set()
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT id FROM errors WHERE id IN (SELECT value FROM json_each(?)) AND {cond}",
            [orjson.dumps(list(ids)).decode(), *params],
        )
        return {r[0] for r in got}

    async def rows(self, ids: Sequence[int]) -> dict[int, ErrorRow]:
        """The rows for ``ids`` (missing ids are left out), in one query."""
        if not len(ids):
            return {}
        got = await self._fetchall(
            f"SELECT {ROW_COLUMNS} FROM errors WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(ids)).decode(),),
        )
        return {t[0]: error_row(t) for t in got}

    async def error(self, error_id: int) -> ErrorRow | None:
        got = await self._fetchall(f"SELECT {ROW_COLUMNS} FROM errors WHERE id = ?", (error_id,))
        return error_row(got[0]) if got else None

    async def known_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` the cache holds already."""
        return await self._present(ViewFilter(status=None), ids)

    async def affected_count(self, f: ViewFilter) -> int:
        """Distinct CRM records (object_type, record_id) with errors in ``f``."""
        if self.filling:  # the first fill is not indexed yet
            return 0
        fast = await self._count_via_totals(f, 1)
        if fast is not None:
            return fast
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT count(DISTINCT object_type || char(31) || record_id) FROM errors WHERE {cond}",
            params,
        )
        return int(got[0][0])

    async def affected_records(
        self, f: ViewFilter, offset: int = 0, limit: int = 200
    ) -> list[RecordCount]:
        """Records with errors in ``f``, most recently failing first, with their counts.

        The open errors of one type (the affected-records view) are a range of
        ``record_totals``; any other filter groups the errors themselves.
        """
        if self.filling:  # the first fill is not indexed yet
            return []
        if f.type is not None and self._totals_key(f) == ("type", f.type):
            sql = (
                "SELECT object_type, record_id, record_name, sf_object, sf_id, errors, last_seen "
                "FROM record_totals WHERE type = ? "
                "ORDER BY last_seen DESC, object_type DESC, record_id DESC LIMIT ? OFFSET ?"
            )
            params: list[Any] = [f.type]
        else:
            cond, params = self._where(f)
            sql = (
                "SELECT object_type, record_id, max(record_name), max(sf_object), max(sf_id), "
                f"count(*), max(last_seen) AS seen FROM errors WHERE {cond} "
                "GROUP BY +object_type, +record_id "
                "ORDER BY seen DESC, object_type DESC, record_id DESC LIMIT ? OFFSET ?"
            )
        got = await self._fetchall_for(f, sql, [*params, int(limit), int(offset)])
        return [RecordCount(*r) for r in got]

    async def error_ids_for_records(self, f: ViewFilter, record_ids: Sequence[str]) -> list[int]:
        """Ids of the errors in ``f`` that belong to any of ``record_ids``."""
        if self.filling:  # the first fill is not indexed yet
            return []
        if not record_ids:
            return []
        cond, params = self._where(f)
        got = await self._fetchall_for(
            f,
            f"SELECT id FROM errors WHERE {cond} AND record_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY id",
            [*params, json.dumps(list(record_ids))],
        )
        return [r[0] for r in got]
