"""The refresh of a ``DataSession``: health, usage and the change feed pulled into the
cache, a page fetched while the one before is stored, a first fill's progress."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tui.core.models import ERROR_COLUMNS
from tui.data.cache import CacheError
from tui.data.client_errors import ServiceError, database_away
from tui.data.fill import fill_from_snapshot, in_column_order
from tui.data.session_base import SessionBase
from tui.data.values import FillProgress

if TYPE_CHECKING:
    from tui.data.client import FeedPage

_ID, _TYPE, _STATUS = (ERROR_COLUMNS.index(c) for c in ("id", "type", "status"))


@dataclass(frozen=True, slots=True)
class RefreshResult:
    changed: int
    online: bool
    error: str | None
    #: Open errors this console had not seen before, per type (see ``DataSession.refresh``).
    new_errors: dict[str, int] = field(default_factory=dict)

    @property
    def new_count(self) -> int:
        return sum(self.new_errors.values())


class FeedPulls(SessionBase):
    """``refresh``: what the service has that the cache has not."""

    async def refresh(self) -> RefreshResult:
        """Health, usage and the change feed into the cache. Never raises.

        ``new_errors`` counts the open errors whose ids the cache did not hold, pulled
        since the last refresh that reported them (a resync's own refresh included). The
        very first fill of a cache counts none: that would be the whole ledger.
        """
        result = await self._update()
        arrived, self._arrived = self._arrived, Counter()
        return replace(result, new_errors=dict(arrived))

    async def _update(self) -> RefreshResult:
        async with self._refresh_lock:
            changed = 0
            try:
                changed = await self._read(self._pull_all)
            except (ServiceError, CacheError) as exc:
                self.online = self.connecting = False
                self.last_error, self.last_problem = exc.reason, exc.kind
                if self.cache.filling:  # show what came; the next refresh goes on from there
                    await self._quietly(self.cache.finish_changes())
                return RefreshResult(changed, False, exc.message)
            self.online, self.connecting = True, False
            self.last_error = self.last_problem = None
            self.last_refresh = datetime.now(UTC)
            await self._quietly(self.cache.set_meta("last_refresh", self.last_refresh.isoformat()))
            return RefreshResult(changed, True, None)

    async def look_at_health(self) -> bool:
        """One quick look at the service's health (answered without its database); True
        when what it says differs from the look before, so a refresh is due now: the
        database went away or came back, the service stopped answering or answers again.
        Never raises."""
        try:
            health = await self.client.look_at_health()
        except ServiceError:
            seen = "no answer"
        else:
            seen = health.database
        changed = self._health_seen is not None and seen != self._health_seen
        self._health_seen = seen
        return changed

    async def _pull_all(self) -> int:
        health = await self.client.health()
        self._health_seen = health.database
        if health.database == "unavailable":
            raise database_away()  # the service says so itself: no need to ask it more
        # a health answer to a token the service could not check names no org: keep ours
        self.org_name = health.org_name or self.org_name
        self.mode, self.resync_mode = health.mode, health.resync_mode
        if health.org_name:
            await self.cache.set_meta("health", health.model_dump(mode="json"))
        await self._store_usage(await self.client.usage())
        return await self._pull()

    async def _quietly(self, job: Any) -> None:
        try:
            await job
        except CacheError as exc:
            self.last_error = exc.reason

    async def _pull(self) -> int:
        """Pull pages until has_more is false; the next page is fetched while one is stored.

        A first fill (empty cache, or one a restart cut short: it resumes from the stored
        cursor) asks the service how many rows remain, and reports its progress.
        """
        changed = 0
        count_arrivals = self.last_refresh is not None
        try:
            if await self.cache.cursor() == 0:
                had = await self.cache.row_count()
                changed = (
                    await fill_from_snapshot(
                        self.client,
                        self.cache,
                        lambda coming: self._fill_reporter(had, coming),
                        self.snapshot_chunk,
                    )
                    or 0
                )
            cursor = await self.cache.cursor()
            filling = cursor == 0 or self.cache.filling
            page = await self.client.changes(cursor, self.page_size, count=filling)
            if filling:
                had = await self.cache.row_count()
                coming = None if page.remaining is None else len(page.rows) + page.remaining
                report = self._fill_reporter(had, coming)
            else:
                report = None
            changed += await self._store_pages(page, count_arrivals, report)
            await self.cache.finish_changes(self._index_reporter())
        finally:
            self.fill = None
        return changed

    def _index_reporter(self) -> Callable[[int, int], None]:
        """What the index and totals build after a first fill's rows calls with its
        steps: the header goes on saying how far the fill has come, not "connecting"."""
        rows = self.fill

        def report(done: int, steps: int) -> None:
            if rows is not None:
                stored = rows.total or rows.done
                self.fill = FillProgress(stored, stored, rows.rate, indexing=(done, steps))
                if self.on_fill is not None:
                    self.on_fill(self.fill)

        return report

    def _fill_reporter(self, had: int, coming: int | None) -> Callable[[int], None]:
        """What to call with the rows stored so far by this pull of a first fill, which
        began with ``had`` rows and has ``coming`` more to store."""
        started = time.monotonic()
        total = None if coming is None else had + coming

        def report(stored: int) -> None:
            rate = stored / max(1e-6, time.monotonic() - started)
            self.fill = FillProgress(had + stored, total, rate)
            if self.on_fill is not None:
                self.on_fill(self.fill)

        report(0)
        return report

    async def _store_pages(
        self, page: FeedPage, count_arrivals: bool, report: Callable[[int], None] | None
    ) -> int:
        changed = 0
        while True:
            rows = in_column_order(page.columns, page.rows)
            ahead = (
                asyncio.ensure_future(self.client.changes(page.next_cursor, self.page_size))
                if page.has_more
                else None
            )
            try:
                arrived = await self._arrivals(rows) if count_arrivals else None
                await self.cache.apply_changes(rows, page.next_cursor)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                    await asyncio.gather(ahead, return_exceptions=True)
                raise
            changed += len(rows)
            if report is not None:
                report(changed)
            if arrived:
                self._arrived.update(arrived)
            if ahead is None:
                break
            page = await ahead
        return changed

    async def _arrivals(self, rows: list[list[Any]]) -> Counter[str]:
        """Open errors of ``rows`` the cache does not hold yet, per type."""
        known = await self.cache.known_ids([r[_ID] for r in rows])
        return Counter(r[_TYPE] for r in rows if r[_STATUS] == "open" and r[_ID] not in known)
