"""The ledger's database away and back, as one service process sees it (issue 14).

Without this, every request during an outage waited the connect timeout for a pooled
connection before its 503, and psycopg_pool logged each of its reconnection attempts.
Now the first failure marks the database away: from then on a request fails at once
(:meth:`Outage.check`), one probe tries a fresh connection every :data:`PROBE_EVERY`
seconds, and the outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from tui.service.db.base import DatabaseAway, DatabaseError

log = logging.getLogger("synchealth.database")
#: Seconds between two probes while the database is away: how late its return is seen.
PROBE_EVERY = 1.0


class Outage:
    """``reason`` is None while the database is reachable, else why it is not.

    ``probe`` connects once and returns, or raises :class:`DatabaseError` saying why not.
    """

    def __init__(self, probe: Callable[[], Awaitable[None]]) -> None:
        self._probe = probe
        self.reason: str | None = None
        self._since = 0.0
        self._task: asyncio.Task[None] | None = None

    def check(self) -> None:
        """Raise :class:`DatabaseUnavailable` at once while the database is away."""
        if self.reason is not None:
            raise DatabaseAway(self.reason)

    def failed(self, reason: str) -> None:
        """A connection or a statement could not reach the database."""
        if self.reason is None:
            self._since = time.monotonic()
            log.warning("%s; requests that need it answer 503 until it is back", reason)
            self._task = asyncio.get_running_loop().create_task(self._watch())
        self.reason = reason

    async def _watch(self) -> None:
        while self.reason is not None:
            await asyncio.sleep(PROBE_EVERY)
            try:
                await self._probe()
            except DatabaseError as exc:
                self.reason = str(exc)
                continue
            away = time.monotonic() - self._since
            log.warning("the ledger's database is back after %.0f s", away)
            self.reason = None

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


#: psycopg's and psycopg_pool's lines of an outage: one per reconnection attempt, per
#: connection lost, per transaction the server ended.
_DRIVER_LINES = (
    "error connecting in",
    "reconnection attempt",
    "discarding closed",
    "discarding broken",
    "error ignored terminating",
)


class OutageLines(logging.Filter):
    """Drops the driver's lines of an outage: :class:`Outage` says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_DRIVER_LINES)
