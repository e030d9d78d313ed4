"""The usage ledger: the integration's Salesforce calls per hour, the allocation, and
the org's limits.

Every call is committed to ``usage_hourly`` and ``usage_calls`` before it is sent
(:meth:`UsageLedger.record_call`, awaited by the connector's ``on_call`` hook), in a
transaction of its own that adds one in the database: a process killed at any moment
loses no call that may have reached Salesforce, no count waits in memory to be
written (or written twice when a write is retried), and replicas on one database add
to the same rows. A process killed between the commit and the send leaves one call
counted that Salesforce never received: the error that errs towards the allocation
(docs/architecture.md, *The usage ledger*). A call that never left (no connection) is
withdrawn.

The org's figures come from Salesforce ``/limits`` at most once per ``ttl`` (Salesforce
itself only refreshes them every few minutes), refined by the newest
``Sforce-Limit-Info`` header seen after that. The last answer is kept in ``settings``
so a restarted service that cannot reach Salesforce still knows the limit; when a
fetch fails the last figures are served with ``limits_error`` saying why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tui.service.ledger import Ledger, iso

HOURS = 24
#: The setting (tui/service/ledger.py) that holds the allocation.
ALLOCATED_KEY = "allocated"
#: After a failed /limits fetch, wait this long before trying again.
RETRY_AFTER = timedelta(seconds=60)


#: Adds (hour, calls) to the hour's count of API calls.
ADD_HOURLY = (
    "INSERT INTO usage_hourly(hour, calls) VALUES (?, ?) "
    "ON CONFLICT(hour) DO UPDATE SET calls = usage_hourly.calls + excluded.calls"
)
#: Adds (hour, kind, sObject, calls) to the hour's calls of that kind.
ADD_CALLS = (
    "INSERT INTO usage_calls(hour, kind, sobject, calls) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(hour, kind, sobject) DO UPDATE SET calls = usage_calls.calls + excluded.calls"
)


@dataclass(frozen=True, slots=True)
class OrgLimits:
    """DailyApiRequests of the org: ``max`` calls per 24 h, ``used`` by all its clients."""

    max: int
    used: int
    as_of: datetime


@dataclass(frozen=True, slots=True)
class LimitsView:
    limits: OrgLimits | None
    error: str | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as the ledger counted it: its hour (ISO) and what it was for."""

    hour: str
    kind: str
    sobject: str


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class UsageLedger:
    def __init__(
        self,
        ledger: Ledger,
        clock: Callable[[], datetime],
        ttl: float = 300.0,
        default_allocation: int = 5000,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._ttl = timedelta(seconds=ttl)
        self._default_allocation = default_allocation
        self._fetched: OrgLimits | None = None  # from /limits
        self._header: OrgLimits | None = None  # from Sforce-Limit-Info
        self._error: str | None = None
        self._failed_at: datetime | None = None
        self._fetch_lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the last known org limits back from the ledger."""
        stored = await self._ledger.setting("org_limits")
        if stored:
            self._fetched = OrgLimits(
                stored["max"], stored["used"], datetime.fromisoformat(stored["as_of"])
            )

    # -- the integration's calls ------------------------------------------

    async def record_call(self, kind: str = "other", sobject: str = "") -> CallRecord:
        """Count one Salesforce call about to be sent, committed before this returns."""
        call = CallRecord(iso(hour_start(self._clock())), kind, sobject)
        await self._add(call, 1)
        return call

    async def withdraw_call(self, call: CallRecord) -> None:
        """Take back a recorded call that never left (no connection to Salesforce)."""
        await self._add(call, -1)

    async def _add(self, call: CallRecord, calls: int) -> None:
        # no write lock on PostgreSQL: the rows' own locks make concurrent adds exact,
        # and a call need not wait for an ingest holding the ledger's lock
        async with self._ledger.transaction(()) as conn:
            await conn.send(ADD_HOURLY, (call.hour, calls))
            await conn.send(ADD_CALLS, (call.hour, call.kind, call.sobject, calls))

    async def hourly(self) -> list[tuple[datetime, int]]:
        """The last 24 hourly buckets, oldest first, the current (partial) hour last."""
        newest = hour_start(self._clock())
        hours = [newest - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
        rows = await self._ledger.reader.fetchall(
            "SELECT hour, calls FROM usage_hourly WHERE hour >= ? AND hour <= ?",
            (iso(hours[0]), iso(newest)),
        )
        calls: dict[str, int] = {h: n for h, n in rows}
        return [(hour, calls.get(iso(hour), 0)) for hour in hours]

    async def breakdown(self) -> list[tuple[str, str, int]]:
        """(kind, sObject, calls) of the rolling window's calls, most calls first. Calls
        counted before kinds were recorded show as kind ``unrecorded``."""
        hourly = await self.hourly()
        first = iso(hourly[0][0])
        found = await self._ledger.reader.fetchall(
            "SELECT kind, sobject, sum(calls) FROM usage_calls WHERE hour >= ? AND hour <= ? "
            "GROUP BY kind, sobject",
            (first, iso(hourly[-1][0])),
        )
        rows = [(kind, sobject, int(calls)) for kind, sobject, calls in found]
        unrecorded = sum(c for _, c in hourly) - sum(c for _, _, c in rows)
        if unrecorded > 0:
            rows.append(("unrecorded", "", unrecorded))
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))

    async def used(self) -> int:
        """The integration's calls in the rolling window (the 24 hourly buckets)."""
        return sum(calls for _, calls in await self.hourly())

    async def room_at(self, needed: int) -> datetime | None:
        """When ``needed`` more calls fit in the allocation as old hours leave the 24-hour
        window: now if they fit already; None if they never can (allocation too small)."""
        allocated = await self.allocated()
        if needed > allocated:
            return None
        hourly = await self.hourly()
        used = sum(calls for _, calls in hourly)
        if used + needed <= allocated:
            return self._clock()
        for hour, calls in hourly:
            used -= calls
            if used + needed <= allocated:
                return hour + timedelta(hours=HOURS)
        return None

    # -- allocation ---------------------------------------------------------

    async def allocated(self) -> int:
        value = await self._ledger.setting(ALLOCATED_KEY)
        return self._default_allocation if value is None else int(value)

    async def set_allocated(self, allocated: int) -> None:
        await self._ledger.set_setting(ALLOCATED_KEY, allocated)

    # -- the org's limits ---------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """Why the last /limits fetch failed; None once one succeeds."""
        return self._error

    def note_limit_info(self, used: int, limit: int) -> None:
        """Remember a ``Sforce-Limit-Info: api-usage=used/limit`` header just seen."""
        self._header = OrgLimits(limit, used, self._clock())

    async def limits(self, fetch: Callable[[], Awaitable[OrgLimits]]) -> LimitsView:
        """The org's limits, fetched with ``fetch`` when the cached ones are too old."""
        async with self._fetch_lock:
            now = self._clock()
            stale = self._fetched is None or now - self._fetched.as_of >= self._ttl
            waiting = self._failed_at is not None and now - self._failed_at < RETRY_AFTER
            if stale and not waiting:
                await self._refresh(fetch, now)
        return LimitsView(self._best(), self._error)

    async def _refresh(self, fetch: Callable[[], Awaitable[OrgLimits]], now: datetime) -> None:
        try:
            fetched = await fetch()
        except Exception as exc:  # the connector's errors all carry a message for people
            self._failed_at = now
            self._error = f"Salesforce limits could not be refreshed: {exc}"
            return
        await self.record_limits(fetched)

    async def record_limits(self, fetched: OrgLimits) -> None:
        """Keep limits just read from ``/limits`` (also by another caller, the doctor)."""
        self._fetched, self._error, self._failed_at = fetched, None, None
        await self._ledger.set_setting(
            "org_limits", {"max": fetched.max, "used": fetched.used, "as_of": iso(fetched.as_of)}
        )

    def _best(self) -> OrgLimits | None:
        fetched, header = self._fetched, self._header
        if header is not None and (fetched is None or header.as_of >= fetched.as_of):
            return header
        return fetched
