"""A sort by subtype in the order of the names the Error column shows, not of the codes.

``subtype_order`` holds, per ranking (language and column width), each subtype's place
among the names (tui/core/subtype_order.py). A page sorted by subtype walks that table
in order and, for each subtype, the errors along ``errors_by_subtype`` in id order: the
rows come in view order off two indexes, never sorted (as every other sort's page).

The ranking must name every subtype the cache holds (an error of a subtype left out
would be left out of the view), so before each such query the subtypes present are read
off the index (one seek per subtype) and the ranking written again if they changed.
"""

from __future__ import annotations

from typing import Any

from tui.core.subtype_order import shown_order
from tui.data.cache_connections import CacheConnections
from tui.data.cache_schema import sort_index
from tui.data.cache_sql import like_pattern
from tui.data.values import ViewFilter, ViewOrder

#: A view of resolved or ignored errors with at most this many is found by its status
#: and sorted; a bigger one is walked along its sort's index (as every open view).
FEW = 5000

#: The distinct subtypes of ``errors``, one index seek each (a skip scan).
PRESENT = """
WITH RECURSIVE present(code) AS (
    SELECT min(subtype) FROM errors
    UNION ALL
    SELECT (SELECT min(subtype) FROM errors WHERE subtype > code) FROM present
    WHERE code IS NOT NULL
)
SELECT code FROM present WHERE code IS NOT NULL
"""


class SubtypeOrder(CacheConnections):
    """Where each subtype stands in a ranking, and the views' sources in view order."""

    async def _positions(self, order: ViewOrder) -> dict[str, int]:
        """subtype -> its place in ``order``'s ranking, stored first if need be."""
        names, ranking = order.names, order.names.ranking
        async with self._guard("read the cache"):
            present = [r[0] for r in await self._r.execute_fetchall(PRESENT)]
            stored = await self._r.execute_fetchall(
                "SELECT code FROM subtype_order WHERE ranking = ? ORDER BY position", (ranking,)
            )
        wanted = shown_order(present, names.lang, names.cells)
        if tuple(r[0] for r in stored) != wanted:
            async with self._writing, self._guard("order the subtypes"):
                await self._w.execute("BEGIN IMMEDIATE")
                try:
                    await self._w.execute("DELETE FROM subtype_order WHERE ranking = ?", (ranking,))
                    await self._w.executemany(
                        "INSERT INTO subtype_order VALUES (?, ?, ?)",
                        [(ranking, place, code) for place, code in enumerate(wanted)],
                    )
                    await self._w.execute("COMMIT")
                except BaseException:
                    await self._w.execute("ROLLBACK")
                    raise
        return {code: place for place, code in enumerate(wanted)}

    async def _narrowing(self, f: ViewFilter) -> str | None:
        """The index that narrows ``f`` to a few rows, found first and then sorted: a
        record's, a cause's, or a status's that few errors have (an empty or small
        ignored view walked the sort's index of 1,000,000 errors for them: 0.15-0.44 s a
        page). None: the view is walked in view order along its sort's index."""
        if f.record_id is not None:  # named: SQLite took the last-seen index, and walked
            return "errors_record"  # 879,340 rows for 2 (2.4 s)
        if f.cause is not None:  # a cause is a few rows of the table: its own index
            return "errors_cause"
        if f.status is None or f.status == "open":
            return None
        async with self._guard("read the cache"):
            got = await self._r.execute_fetchall(
                "SELECT count(*) FROM (SELECT 1 FROM errors WHERE status = ? LIMIT ?)",
                (f.status, FEW + 1),
            )
        return "errors_status_seen" if next(iter(got))[0] <= FEW else None

    @staticmethod
    def _table(order: ViewOrder, narrowing: str | None) -> str:
        """``errors``, walked in view order (along the sort's index, or by id) unless an
        index narrows it to a few rows (``_narrowing``), which are then sorted (a
        cause's are in last-seen order already)."""
        if narrowing is not None:
            return f"errors INDEXED BY {narrowing}"
        if order.sort == "id":
            return "errors NOT INDEXED"
        return f"errors INDEXED BY {sort_index(order.sort)}"

    async def _source(
        self, f: ViewFilter, order: ViewOrder
    ) -> tuple[str, list[Any], dict[str, int]]:
        """``_source_narrowed`` with ``f``'s own narrowing."""
        return await self._source_narrowed(f, order, await self._narrowing(f))

    async def _source_narrowed(
        self, f: ViewFilter, order: ViewOrder, narrowing: str | None
    ) -> tuple[str, list[Any], dict[str, int]]:
        """The FROM clause of ``f`` in ``order``, its parameters, and the subtypes'
        places: ``_table``, joined to the ranking of the subtypes' names when sorted by
        subtype (the ranking outside in its order, each subtype's errors inside; a
        narrowed view's few rows are found first, then sorted)."""
        table = self._table(order, narrowing)
        if order.sort != "subtype":
            return table, [], {}
        positions = await self._positions(order)
        join = "CROSS JOIN" if narrowing is None else "JOIN"
        source = f"subtype_order {join} {table} ON subtype = code AND ranking = ?"
        params: list[Any] = [order.names.ranking]
        if f.type is not None:  # only its subtypes' index ranges, not every other's too
            source += " AND code LIKE ? ESCAPE '\\'"
            params.append(like_pattern(f.type + ".")[1:])
        return source, params, positions
