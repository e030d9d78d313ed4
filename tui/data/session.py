"""DataSession: the one object the console talks to (client + cache + refresh + resync).

The console reads only the cache; ``refresh`` pulls the service's change feed into it
and never raises (it records ``online`` and ``last_error`` instead). Resyncs go out
in batches of 100, each written down in the cache with its request_id before it is
sent. A batch that got no answer (killed process, lost connection, timeout) stays
written down; it is sent again, with the same request_id (the service then answers
the stored result and sends nothing twice), only by ``replay_pending``, which the
console calls after the user saw and accepted it. A batch the service answered, even
with a refusal, is settled and never sent again.

``DataSession`` is built in layers, each in its own module: its life and the cache's
recovery (``session_base``), the refresh (``session_feed``), the resyncs
(``session_resync``); here are the reads the screens make and the export.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tui.core.lang import Lang
from tui.core.models import ERROR_COLUMNS, SyncErrorDetail, Usage
from tui.data.cache import CacheDamaged, CacheError
from tui.data.client_errors import ServiceError
from tui.data.session_feed import RefreshResult
from tui.data.session_resync import ResyncPlan, ResyncProgress, Resyncs, ResyncSummary
from tui.data.values import (
    ErrorRow,
    FillProgress,
    RecordCount,
    SortColumn,
    SubtypeCount,
    SubtypeNames,
    TypeCount,
    ViewFilter,
    ViewOrder,
)
from tui.i18n import t

if TYPE_CHECKING:  # the models of what the screens ask for later (issue 11: the start)
    from tui.core.audit_models import HistoryEntry, HistoryPage
    from tui.core.ignore_models import IgnoreResult
    from tui.core.models import CausePage, UsageBreakdown
    from tui.core.notify_models import (
        CauseMute,
        Channel,
        NotificationSettings,
        NotificationStatus,
        TestSendResult,
    )
    from tui.core.trend_models import TrendPage, TrendTotals, TypeTrends
    from tui.data.last_looked import SinceLooked

__all__ = [
    "DataSession",
    "ErrorRow",
    "FillProgress",
    "RecordCount",
    "RefreshResult",
    "ResyncPlan",
    "ResyncProgress",
    "ResyncSummary",
    "SortColumn",
    "SubtypeCount",
    "TypeCount",
    "ViewFilter",
    "ViewOrder",
]


class DataSession(Resyncs):
    """What the console uses; build it with ``await DataSession.open(...)``."""

    async def usage(self) -> Usage | None:
        return self._usage

    async def set_allocation(self, allocated: int) -> Usage:
        return await self._store_usage(await self.client.set_allocation(allocated))

    async def causes(self, limit: int = 200) -> CausePage:
        """The causes with open errors, most first, asked of the service (not cached)."""
        return await self.client.causes(limit)

    async def ignore(
        self,
        reason: str,
        expiry: datetime | int | None,
        *,
        error_ids: Sequence[int] | None = None,
        cause: str | None = None,
    ) -> IgnoreResult:
        """Ignore errors or a cause at the service (a new request_id, kept on retries)
        until ``expiry``: a time, a number of days (the service's clock), None: until
        unignored."""
        days = expiry if isinstance(expiry, int) else None
        until = expiry if isinstance(expiry, datetime) else None
        return await self.client.ignore(str(uuid.uuid4()), reason, error_ids=error_ids,
                                        cause=cause, expires_at=until, days=days)  # fmt: skip

    async def unignore(self, *, error_ids: Sequence[int]) -> IgnoreResult:
        return await self.client.unignore(str(uuid.uuid4()), error_ids=error_ids)

    async def cause_error_ids(self, cause: str) -> list[int]:
        return (await self.client.cause_errors(cause)).error_ids

    async def cause_mutes(self) -> dict[str, CauseMute]:
        """The causes whose alerts are muted, by cause (asked of the service)."""
        return {m.cause: m for m in (await self.client.cause_mutes()).mutes}

    async def mute_cause(self, cause: str, minutes: int) -> CauseMute:
        return await self.client.mute_cause(cause, minutes)

    async def unmute_cause(self, cause: str) -> None:
        await self.client.unmute_cause(cause)

    async def usage_breakdown(self) -> UsageBreakdown:
        """Where the last 24 h of calls went, asked of the service (not cached)."""
        return await self.client.usage_breakdown()

    async def trends(
        self, days: int, end: date, type: str | None = None, cause: str | None = None
    ) -> TrendPage:
        """Daily figures of all errors, a type or a cause up to ``end``, from the service."""
        return await self.client.trends(days, type, cause, end)

    async def type_trends(self, days: int, end: date) -> TypeTrends:
        """New errors per day of each type (the cards' sparklines), asked of the service."""
        return await self.client.type_trends(days, end)

    async def since_last_looked(self) -> SinceLooked | None:
        """What changed since this user last looked at the service; remembers this look.

        None on the first look, when the service cannot say, or the state file cannot be
        written (the notice is not worth an error).
        """
        from tui.data import last_looked

        path = last_looked.state_file(self.cache.path)
        try:
            now: TrendTotals = (await self.client.trends(1)).totals
            before = last_looked.read_totals(path)
            last_looked.write_totals(path, now)
        except (ServiceError, OSError):
            return None
        return None if before is None else last_looked.since(before, now)

    async def history(self, cursor: int | None = None) -> HistoryPage:
        """The service's audit trail (every console's, every engine's), newest first."""
        return await self.client.history(cursor)

    async def export_audit(self, target: Path | BinaryIO, *, bom: bool = False) -> int:
        """Write the whole audit trail as CSV (tui/data/audit_csv.py); entries written.
        Raises ServiceError when the service cannot answer, ExportError when the CSV
        cannot be written (nothing is written then)."""
        from tui.data.audit_csv import write_audit

        entries: list[HistoryEntry] = []
        cursor, more = 0, True
        while more:
            page = await self.client.audit(cursor)
            entries += page.entries
            cursor, more = page.next_cursor, page.has_more
        return await write_audit(target, entries, bom=bom)

    async def notifications(self) -> NotificationSettings:
        return await self.client.notifications()

    async def set_notifications(self, s: NotificationSettings) -> NotificationSettings:
        return await self.client.set_notifications(s)

    async def notification_status(self) -> NotificationStatus:
        return await self.client.notification_status()

    async def test_notification(self, channel: Channel) -> TestSendResult:
        return await self.client.test_notification(channel)

    # -- queries (the cache) -------------------------------------------------------------

    async def type_counts(self) -> list[TypeCount]:
        return await self._read(
            self.cache.type_counts,
        )

    async def subtype_counts(self, type: str) -> list[SubtypeCount]:
        return await self._read(self.cache.subtype_counts, type)

    async def count(self, f: ViewFilter) -> int:
        return await self._read(self.cache.count, f)

    async def view_ids(
        self,
        f: ViewFilter,
        sort: SortColumn = "last_seen",
        descending: bool = True,
        *,
        names: SubtypeNames = SubtypeNames(),
    ) -> array[int]:
        return await self._read(self.cache.view_ids, f, sort, descending, names=names)

    async def view_page(self, f: ViewFilter, order: ViewOrder, **where: Any) -> list[ErrorRow]:
        """One page of a view; ``where`` as ``Cache.view_page`` (offset, limit, after...)."""
        return await self._read(self.cache.view_page, f, order, **where)

    async def position(self, f: ViewFilter, order: ViewOrder, error_id: int) -> int | None:
        return await self._read(self.cache.position, f, order, error_id)

    async def in_view(self, f: ViewFilter, ids: Sequence[int]) -> set[int]:
        return await self._read(self.cache.in_view, f, ids)

    async def outside_view(self, f: ViewFilter, ids: Sequence[int]) -> int:
        """How many of ``ids`` the view ``f`` does not show (marks a filter hides)."""
        return len(set(ids)) - len(await self.in_view(f, ids))

    async def interrupt_search(self) -> None:
        await self.cache.interrupt_search()

    async def build_search_index(self) -> None:
        """The text filter's index, once after a first fill (a no-op when it exists)."""
        await self.cache.build_search_index()

    async def rows(self, ids: Sequence[int]) -> dict[int, ErrorRow]:
        return await self._read(self.cache.rows, ids)

    async def affected_count(self, f: ViewFilter) -> int:
        return await self._read(self.cache.affected_count, f)

    async def affected_records(
        self, f: ViewFilter, offset: int = 0, limit: int = 200
    ) -> list[RecordCount]:
        return await self._read(self.cache.affected_records, f, offset, limit)

    async def error_ids_for_records(self, f: ViewFilter, record_ids: Sequence[str]) -> list[int]:
        return await self._read(self.cache.error_ids_for_records, f, record_ids)

    async def error_detail(self, error_id: int) -> SyncErrorDetail | None:
        """From the service (with history) when online, else the cached row."""
        if self.online:
            try:
                return await self.client.error(error_id)
            except ServiceError:
                pass
        row = await self._read(self.cache.error, error_id)
        if row is None:
            return None
        return SyncErrorDetail.model_validate(
            {k: getattr(row, k) for k in ERROR_COLUMNS if k != "seq"} | {"seq": 0}
        )

    async def export(
        self,
        path: Path | BinaryIO,
        *,
        f: ViewFilter | None = None,
        ids: Sequence[int] | None = None,
        bom: bool = False,
        progress: Callable[[int], None] | None = None,
        lang: Lang | None = None,
        raw: bool = False,
    ) -> int:
        """Write the errors of ``f`` (or ``ids``, in their order) as CSV, headed in the words
        of ``lang`` unless ``raw``; rows written. Raises ExportError."""
        from tui.data.export import export_csv

        if lang is None:
            from tui.i18n import current_lang

            lang = current_lang()
        seen = self._rebuilds
        try:
            await self._key_causes((f,))
            return await export_csv(
                self.cache, path, f=f, ids=ids, lang=lang, bom=bom, progress=progress, raw=raw
            )
        except CacheDamaged as exc:
            await self._recover(seen)
            if not isinstance(path, (str, Path)):
                # part of it already went out: say so rather than write it twice
                raise CacheError(exc.detail, lead=t("main.problem.export_again")) from exc
            await self.refresh()
            await self._key_causes((f,))
            return await export_csv(
                self.cache, path, f=f, ids=ids, lang=lang, bom=bom, progress=progress, raw=raw
            )
