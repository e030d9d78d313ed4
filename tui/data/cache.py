"""The console's local mirror of the service's error ledger, and every query it runs.

``Cache`` is made of the parts that live beside it: the file and its connections
(``cache_connections``), the change feed's writes and totals (``cache_feed``), the
views' queries (``cache_queries``) and the export's reads (``cache_export``); the
schema is in ``cache_schema``, the SQL they share in ``cache_sql``. The queue of
resync batches written before they are sent is here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from tui.data.cache_connections import QueryInterrupted
from tui.data.cache_export import ExportBlocks
from tui.data.cache_feed import FeedWrites
from tui.data.cache_file import CacheDamaged, CacheError
from tui.data.cache_queries import ViewQueries
from tui.data.values import ErrorRow, ViewFilter

__all__ = ["Cache", "CacheDamaged", "CacheError", "ErrorRow", "QueryInterrupted", "ViewFilter"]


class Cache(FeedWrites, ViewQueries, ExportBlocks):
    """The local mirror. Open with ``await Cache.open(path)``; close with ``close()``."""

    async def add_pending(self, request_id: str, ids: Sequence[int]) -> None:
        """Write a resync batch down before it is sent (committed at once)."""
        async with self._writing, self._guard("remember the resync batch"):
            await self._w.execute(
                "INSERT OR REPLACE INTO pending_resync VALUES (?, ?, 'pending', ?)",
                (
                    request_id,
                    json.dumps(list(ids)),
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                ),
            )

    async def drop_pending(self, request_id: str) -> None:
        async with self._writing, self._guard("update the resync batches"):
            await self._w.execute("DELETE FROM pending_resync WHERE request_id = ?", (request_id,))

    async def pending(self) -> list[tuple[str, list[int]]]:
        """Batches written down but never confirmed by the service, oldest first."""
        got = await self._fetchall(
            "SELECT request_id, ids FROM pending_resync ORDER BY created, rowid"
        )
        return [(rid, json.loads(ids)) for rid, ids in got]
