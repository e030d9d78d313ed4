"""DataSession: the one object the console talks to (client + cache + refresh + resync).

The console reads only the cache; ``refresh`` pulls the service's change feed into it
and never raises (it records ``online`` and ``last_error`` instead). Resyncs go out
in batches of 100, each written down in the cache with its request_id before it is
sent. A batch that got no answer (killed process, lost connection, timeout) stays
written down; it is sent again, with the same request_id (the service then answers
the stored result and sends nothing twice), only by ``replay_pending``, which the
console calls after the user saw and accepted it. A batch the service answered, even
with a refusal, is settled and never sent again.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

import httpx

from tui.core.lang import Lang
from tui.core.limits import RECORDS_PER_CALL, RESYNC_MAX_IDS
from tui.core.models import (
    ERROR_COLUMNS,
    CauseMute,
    CausePage,
    Channel,
    HistoryPage,
    IgnoreResult,
    NotificationSettings,
    NotificationStatus,
    ResyncResult,
    SyncErrorDetail,
    TestSendResult,
    TrendPage,
    TrendTotals,
    TypeTrends,
    Usage,
    UsageBreakdown,
)
from tui.data import last_looked, paths
from tui.data.cache import (
    Cache,
    CacheDamaged,
    CacheError,
)
from tui.data.cache_file import check_location
from tui.data.client import (
    BadResponse,
    FeedPage,
    ServiceClient,
    ServiceError,
    ServiceRejected,
    ServiceUnauthorized,
    ServiceUnavailable,
    check_service_url,
)
from tui.data.export import export_csv
from tui.data.fill import SNAPSHOT_CHUNK, fill_from_snapshot, in_column_order
from tui.data.last_looked import SinceLooked
from tui.data.values import (
    ErrorRow,
    FillProgress,
    RecordCount,
    SortColumn,
    SubtypeCount,
    TypeCount,
    ViewFilter,
    ViewOrder,
)
from tui.i18n import t

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

#: Errors per resync request (the article's limit).
BATCH_SIZE = RESYNC_MAX_IDS
#: Cache meta key of the resync job this console started (its request_id).
JOB_META = "resync_job"
PAGE_SIZE = 10000
#: Seconds a request waits for the service before "the service is slow".
DEFAULT_TIMEOUT = 15.0
_ID, _TYPE, _STATUS = (ERROR_COLUMNS.index(c) for c in ("id", "type", "status"))
T = TypeVar("T")


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


class Closable(Protocol):
    """What a session may own besides its client and cache (the embedded service)."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ResyncPlan:
    errors: int
    batches: int
    calls: int
    allocation_left: int | None
    #: The service asks the sync engine instead of sending to Salesforce (engine mode).
    engine: bool = False


@dataclass(frozen=True, slots=True)
class ResyncProgress:
    batch: int
    batches: int
    done: int
    total: int
    #: Why a resync job waits (the allocation, a Salesforce refusal), while it waits.
    waiting: str | None = None


@dataclass(frozen=True, slots=True)
class ResyncSummary:
    requested: int
    synced: int
    failed: int
    skipped: int
    calls: int
    failures_by_subtype: dict[str, int]
    refused: str | None
    #: Errors of batches the service reported as interrupted (outcome unknown; not re-sent).
    interrupted: int = 0
    #: Errors handed to the sync engine (engine mode): they resolve when it reports back.
    engine: int = 0
    #: Errors of batches that got no answer: kept, to be offered again (``replay_pending``).
    kept: int = 0


@dataclass
class _Tally:
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    calls: int = 0
    interrupted: int = 0
    engine: int = 0
    kept: int = 0
    refused: str | None = None

    def __post_init__(self) -> None:
        self.failures: Counter[str] = Counter()

    def add(self, result: ResyncResult) -> None:
        self.calls += result.salesforce_calls
        for outcome in result.outcomes:
            if outcome.status == "synced":
                self.synced += 1
            elif outcome.status == "requested":
                self.engine += 1
            elif outcome.status == "failed":
                self.failed += 1
                self.failures[outcome.subtype or "other.unknown"] += 1
            else:
                self.skipped += 1


def _cache_path(service_key: str) -> Path:
    """The cache file for a service; CacheError when its folder cannot be made."""
    try:
        return paths.cache_path_for(service_key)
    except OSError as exc:
        if exc.filename:
            check_location(Path(exc.filename) / "cache.sqlite3")  # says what is wrong
        raise CacheError(f"Cannot use the cache folder: {exc.strerror or exc}.") from exc


class DataSession:
    """What the console uses; build it with ``await DataSession.open(...)``."""

    def __init__(
        self,
        client: ServiceClient,
        cache: Cache,
        owned: Closable | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.client = client
        self.cache = cache
        self._owned = owned
        self.page_size = page_size
        #: Errors per snapshot request of a first fill.
        self.snapshot_chunk = SNAPSHOT_CHUNK
        self.org_name: str | None = None
        self.mode: str | None = None
        self.resync_mode = "direct"
        self.online = False
        self.last_refresh: datetime | None = None
        self.last_error: str | None = None
        #: The kind of ``last_error`` (``Problem.kind``).
        self.last_problem: str | None = None
        #: Set when the cache file was damaged and rebuilt: where the old one went.
        self.notice: str | None = cache.notice
        self._usage: Usage | None = None
        self._refresh_lock = asyncio.Lock()
        #: Open errors new to the cache, per type, pulled since ``refresh`` last reported them.
        self._arrived: Counter[str] = Counter()
        self._resync_lock = asyncio.Lock()
        #: Called with the notice when a damaged cache was moved aside while running.
        self.on_rebuilt: Callable[[str], object] | None = None
        self._rebuilds = 0
        self._rebuild_lock = asyncio.Lock()
        #: Set while a first fill runs; ``on_fill`` hears of each page stored.
        self.fill: FillProgress | None = None
        self.on_fill: Callable[[FillProgress], object] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str | None = None,
        cache_path: Path | None = None,
        cache_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        actor: str | None = None,
        owned: Closable | None = None,
    ) -> DataSession:
        """Open the cache and a client of the service at ``url``.

        ``transport`` replaces the network for ``url`` (tests, in-process services);
        ``cache_key`` names the cache file instead of ``url`` (the embedded service, whose
        URL is never resolved); ``timeout`` is how long a request waits for an answer
        before it counts as slow, ``retries`` how often an idempotent request is tried
        again; ``actor`` names us in the service's history (default ``user@host``).
        ``owned`` is closed with the session, or at once if the session cannot open: the
        composition root (tui/embedded.py) hands over the service it started this way.
        """
        try:
            key = cache_key or check_service_url(url)
            cache = await Cache.open(cache_path or _cache_path(key))
        except BaseException:
            if owned is not None:
                await owned.aclose()
            raise
        client = ServiceClient(
            url, token, transport=transport, timeout=timeout, retries=retries, actor=actor
        )
        session = cls(client, cache, owned)
        await session._load_cached()
        return session

    async def _load_cached(self) -> None:
        health = await self.cache.get_meta("health")
        if health:
            self.org_name, self.mode = health.get("org_name"), health.get("mode")
            self.resync_mode = health.get("resync_mode") or "direct"
        usage = await self.cache.get_meta("usage")
        self._usage = Usage.model_validate(usage) if usage else None
        stamp = await self.cache.get_meta("last_refresh")
        self.last_refresh = datetime.fromisoformat(stamp) if stamp else None

    # -- a cache damaged while running ---------------------------------------------------

    async def _recover(self, seen: int) -> None:
        """Move the damaged cache aside and start afresh (once, however many reads failed)."""
        async with self._rebuild_lock:
            if self._rebuilds != seen:
                return
            self.notice = await self.cache.rebuild()
            self._rebuilds += 1
            self.last_refresh = None
        if self.on_rebuilt is not None:
            self.on_rebuilt(self.notice)

    async def _read(self, query: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """A cache query; a damaged file is rebuilt and the query runs again on the new one."""
        seen = self._rebuilds
        try:
            return await query(*args, **kwargs)
        except CacheDamaged:
            await self._recover(seen)
            return await query(*args, **kwargs)

    async def close(self) -> None:
        try:
            await self.client.aclose()
            await self.cache.close()
        finally:
            if self._owned is not None:
                await self._owned.aclose()
                self._owned = None

    # -- refresh -------------------------------------------------------------------------

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
                self.online = False
                self.last_error, self.last_problem = exc.reason, exc.kind
                if self.cache.filling:  # show what came; the next refresh goes on from there
                    await self._quietly(self.cache.finish_changes())
                return RefreshResult(changed, False, exc.message)
            self.online = True
            self.last_error = self.last_problem = None
            self.last_refresh = datetime.now(UTC)
            await self._quietly(self.cache.set_meta("last_refresh", self.last_refresh.isoformat()))
            return RefreshResult(changed, True, None)

    async def _pull_all(self) -> int:
        health = await self.client.health()
        self.org_name, self.mode = health.org_name, health.mode
        self.resync_mode = health.resync_mode
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
        finally:
            self.fill = None
        await self.cache.finish_changes()
        return changed

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

    async def _store_usage(self, usage: Usage) -> Usage:
        self._usage = usage
        await self.cache.set_meta("usage", usage.model_dump(mode="json"))
        return usage

    # -- usage and settings --------------------------------------------------------------

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
        path = last_looked.state_file(self.cache.path)
        try:
            now: TrendTotals = (await self.client.trends(1)).totals
            before = last_looked.read_totals(path)
            last_looked.write_totals(path, now)
        except (ServiceError, OSError):
            return None
        return None if before is None else last_looked.since(before, now)

    async def history(self, cursor: int | None = None) -> HistoryPage:
        """Recent resyncs and engine reports from the service (every console's, every
        engine's), newest first."""
        return await self.client.history(cursor)

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
        self, f: ViewFilter, sort: SortColumn = "last_seen", descending: bool = True
    ) -> array[int]:
        return await self._read(self.cache.view_ids, f, sort, descending)

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

    # -- resync --------------------------------------------------------------------------

    def resync_plan(self, n: int) -> ResyncPlan:
        """Batches, Salesforce calls and the allocation left after resyncing ``n`` errors
        as one job (200 errors per batch, one Salesforce call each)."""
        batches = math.ceil(max(n, 0) / RECORDS_PER_CALL)
        engine = self.resync_mode == "engine"
        calls = 0 if engine else batches
        usage = self._usage
        left = None if usage is None else usage.allocated - usage.used - calls
        return ResyncPlan(n, batches, calls, left, engine)

    async def resync(
        self,
        ids: Sequence[int],
        progress: Callable[[ResyncProgress], None] | None = None,
    ) -> ResyncSummary:
        """Resync in batches of 100. Errors of a pending batch are left out: only
        ``replay_pending`` sends them (with their first request_id), never a new id."""
        async with self._resync_lock:
            pending = await self.cache.pending()
            handled = {i for _, batch in pending for i in batch}
            fresh = list(dict.fromkeys(i for i in ids if i not in handled))
            work: list[tuple[str | None, list[int]]] = [
                (None, fresh[i : i + BATCH_SIZE]) for i in range(0, len(fresh), BATCH_SIZE)
            ]
            return await self._run(work, progress)

    async def resync_job(
        self,
        ids: Sequence[int],
        progress: Callable[[ResyncProgress], None] | None = None,
        poll: float = 0.5,
    ) -> ResyncSummary:
        """Send ``ids`` as one resync job and follow it to its end.

        The request_id is written to the cache before the job is posted, so a console
        closed meanwhile finds the same job again when reopened (:meth:`open_job`).
        """
        request_id = str(uuid.uuid4())
        await self.cache.set_meta(JOB_META, {"request_id": request_id})
        job = await self.client.start_job(list(dict.fromkeys(ids)), request_id)
        return await self.follow_job(job.job_id, progress, poll)

    async def open_job(self) -> str | None:
        """The running job this console started (also before it was closed), if any."""
        mine = await self.cache.get_meta(JOB_META)
        if not mine:
            return None
        for job in await self.client.jobs():
            if job.request_id == mine.get("request_id"):
                if job.state == "running":
                    return job.job_id
                break
        await self.cache.set_meta(JOB_META, {})
        return None

    async def follow_job(
        self,
        job_id: str,
        progress: Callable[[ResyncProgress], None] | None = None,
        poll: float = 0.5,
    ) -> ResyncSummary:
        """Report a job's progress until it ends; its summary; then refresh."""
        while True:
            job = await self.client.job(job_id)
            if progress is not None:
                batches = max(1, math.ceil(job.total / RECORDS_PER_CALL))
                batch = min(batches, math.ceil(job.done / RECORDS_PER_CALL))
                progress(ResyncProgress(batch, batches, job.done, job.total, job.waiting))
            if job.state != "running":
                break
            await asyncio.sleep(poll)
        failures: Counter[str] = Counter()
        cursor = 0
        while True:
            page = await self.client.job(job_id, cursor, 10000)
            failures.update(o.subtype or "other.unknown" for o in page.outcomes
                            if o.status == "failed")  # fmt: skip
            if len(page.outcomes) < 10000:
                break
            cursor = page.next_cursor
        await self.cache.set_meta(JOB_META, {})
        await self._update()
        counts = job.counts
        return ResyncSummary(
            requested=job.total,
            synced=counts.synced,
            failed=counts.failed,
            skipped=counts.skipped + counts.cancelled,
            calls=job.salesforce_calls,
            failures_by_subtype=dict(failures),
            refused=None,
            interrupted=counts.unknown,
            engine=counts.requested,
        )

    async def pending_resync(self) -> list[int]:
        """Error ids of the batches sent without an answer, to show before any replay."""
        return [i for _, batch in await self.cache.pending() for i in batch]

    async def replay_pending(
        self, progress: Callable[[ResyncProgress], None] | None = None
    ) -> ResyncSummary:
        """Send the pending batches again with their own request_ids (the user agreed)."""
        async with self._resync_lock:
            pending = await self.cache.pending()
            return await self._run([(rid, b) for rid, b in pending], progress)

    async def drop_pending(self) -> int:
        """Forget the pending batches without sending them; the errors they held."""
        pending = await self.cache.pending()
        for request_id, _ in pending:
            await self.cache.drop_pending(request_id)
        return sum(len(batch) for _, batch in pending)

    async def _run(
        self,
        work: list[tuple[str | None, list[int]]],
        progress: Callable[[ResyncProgress], None] | None,
    ) -> ResyncSummary:
        tally = _Tally()
        total = sum(len(batch) for _, batch in work)
        done = 0
        for number, (request_id, batch) in enumerate(work, 1):
            if tally.refused is not None:
                tally.skipped += len(batch)
            else:
                await self._send(request_id, batch, tally)
            done += len(batch)
            if progress is not None:
                progress(ResyncProgress(number, len(work), done, total))
        await self._update()
        return ResyncSummary(
            requested=total,
            synced=tally.synced,
            failed=tally.failed,
            skipped=tally.skipped,
            calls=tally.calls,
            failures_by_subtype=dict(tally.failures),
            refused=tally.refused,
            interrupted=tally.interrupted,
            engine=tally.engine,
            kept=tally.kept,
        )

    async def _send(self, request_id: str | None, batch: list[int], tally: _Tally) -> None:
        """Send one batch (written down first); outcomes and refusals go to ``tally``."""
        if request_id is None:
            request_id = str(uuid.uuid4())
            await self.cache.add_pending(request_id, batch)
        try:
            result = await self.client.resync(batch, request_id)
        except ServiceRejected as exc:
            await self.cache.drop_pending(request_id)
            tally.skipped += len(batch)
            if exc.code == "resync_interrupted" or (exc.status == 409 and not exc.code):
                tally.interrupted += len(batch)
            else:
                tally.refused = exc.message
        except ServiceUnauthorized as exc:
            await self.cache.drop_pending(request_id)
            tally.skipped += len(batch)
            tally.refused = exc.message
        except ServiceUnavailable as exc:
            tally.skipped += len(batch)
            tally.refused = exc.message
            if exc.status is not None and exc.code:
                # the service answered (its own error, or Salesforce's): settled, never replayed
                await self.cache.drop_pending(request_id)
                if exc.code in ("salesforce_unavailable", "salesforce_bad_answer"):
                    tally.interrupted += len(batch)
            else:
                # no answer (timeout, connection lost, a proxy's 5xx): outcome unknown;
                # kept, and offered to the user again before anything is re-sent
                tally.kept += len(batch)
        except BadResponse as exc:
            tally.skipped += len(batch)
            tally.kept += len(batch)
            tally.refused = exc.message  # kept pending: a replay reads the stored result
        else:
            await self.cache.drop_pending(request_id)
            tally.add(result)

    # -- export --------------------------------------------------------------------------

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
        if lang is None:
            from tui.i18n import current_lang

            lang = current_lang()
        seen = self._rebuilds
        try:
            return await export_csv(
                self.cache, path, f=f, ids=ids, lang=lang, bom=bom, progress=progress, raw=raw
            )
        except CacheDamaged as exc:
            await self._recover(seen)
            if not isinstance(path, (str, Path)):
                # part of it already went out: say so rather than write it twice
                raise CacheError(exc.detail, lead=t("main.problem.export_again")) from exc
            await self.refresh()
            return await export_csv(
                self.cache, path, f=f, ids=ids, lang=lang, bom=bom, progress=progress, raw=raw
            )
